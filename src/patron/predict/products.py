"""Next best products: item-item co-occurrence of purchases, with a popularity fallback.

Two products co-occur when one customer bought both (at any time before as-of). A customer's
candidates are scored by how strongly they co-occur with what the customer bought, normalised
by the candidate's popularity (cosine similarity of the buyer sets), so that a best seller
bought by everyone does not win every list; the recent popularity of the candidate breaks
ties and follows the season. Each recommendation names the product of the customer's that
supports it most ("bought together with X by N customers"). Customers without history, or
with fewer candidates than asked for, get the most popular products of the last
``POPULAR_DAYS`` days.

What a customer bought in the last ``RECENT_DAYS`` days is not recommended again, unless its
category is a repeat-purchase category: one where at least ``REPEAT_SHARE`` of the buyers of
a product bought that same product again on another day (food, beauty).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import sparse

if TYPE_CHECKING:
    from datetime import date

    from patron.predict.inputs import Purchases

RECENT_DAYS = 180
POPULAR_DAYS = 90
REPEAT_SHARE = 0.2
DEFAULT_K = 5
# Customers scored at a time, and the most scores (customers by products) held at once:
# 16 million doubles, 128 MB.
BLOCK = 50_000
BLOCK_CELLS = 16_000_000
# Each product's most similar products: the candidates it brings to its buyers.
NEIGHBOURS = 50
# Product-by-product matrices up to this many cells (64 MB of doubles) are looked up dense.
DENSE_LOOKUP_CELLS = 8_000_000


@dataclass(frozen=True)
class ProductModel:
    """Co-occurrence counts between products and what is popular, as of one date."""

    skus: np.ndarray  # product index -> SKU (sorted)
    names: np.ndarray
    categories: np.ndarray  # None where unknown
    buyers: np.ndarray  # distinct customers per product
    cooccurrence: sparse.csr_matrix  # customers who bought both (diagonal zero)
    recent_buyers: np.ndarray  # distinct customers per product in the last POPULAR_DAYS
    repeat_categories: frozenset[str]

    def diagnostics(self) -> dict[str, Any]:
        return {
            "products": len(self.skus),
            "product_pairs": int(self.cooccurrence.nnz // 2),
            "repeat_purchase_categories": sorted(self.repeat_categories),
        }


@dataclass(frozen=True)
class History:
    """Customers' purchases as a sparse matrix over the model's products."""

    customer_ids: np.ndarray
    bought: sparse.csr_matrix  # 1 where bought before as-of
    excluded: sparse.csr_matrix  # 1 where not to be recommended (bought recently)


def _categories_bought_again(purchases: Purchases) -> frozenset[str]:
    # Per category, the share of (customer, product) entries bought on more than one day.
    known = np.array([category is not None for category in purchases.categories], dtype=bool)
    names, product_category = np.unique(
        purchases.categories[known].astype(str), return_inverse=True
    )
    category_of = np.full(len(purchases.skus), -1, dtype=np.int64)
    category_of[known] = product_category
    entry_category = category_of[purchases.products]
    counted = entry_category >= 0
    entries = np.bincount(entry_category[counted], minlength=len(names))
    again = np.bincount(
        entry_category[counted], weights=purchases.days[counted] > 1, minlength=len(names)
    )
    share = again / np.maximum(entries, 1)
    return frozenset(str(name) for name in names[(entries > 0) & (share >= REPEAT_SHARE)])


def _day(day: date) -> np.datetime64:
    return np.datetime64(day.isoformat(), "D")


def fit_next_products(purchases: Purchases, as_of: date) -> ProductModel:
    """Fit co-occurrence on ``purchases`` (``inputs.bought_products``), all before ``as_of``."""
    products = len(purchases.skus)
    binary = _matrix(purchases, _rows(purchases.customer_ids), np.arange(products), products)
    # Counts are exact in float64; the product sums each customer's pairs of products.
    cooccurrence = (binary.T @ binary).tocsr()
    cooccurrence.setdiag(0)
    cooccurrence.eliminate_zeros()
    buyers = np.bincount(purchases.products, minlength=products).astype(np.float64)
    recent = purchases.last_days >= _day(as_of - timedelta(days=POPULAR_DAYS))
    recent_buyers = np.bincount(purchases.products[recent], minlength=products)
    return ProductModel(
        skus=purchases.skus,
        names=np.array(["" if name is None else name for name in purchases.names], dtype=object),
        categories=purchases.categories,
        buyers=buyers,
        cooccurrence=cooccurrence.astype(np.float64),
        recent_buyers=recent_buyers.astype(np.float64),
        repeat_categories=_categories_bought_again(purchases),
    )


def _rows(customer_ids: np.ndarray) -> np.ndarray:
    """Row of each entry when every customer of (sorted) ``customer_ids`` gets a row."""
    starts = np.ones(len(customer_ids), dtype=bool)
    starts[1:] = customer_ids[1:] != customer_ids[:-1]
    return np.cumsum(starts) - 1


def _matrix(
    purchases: Purchases,
    rows: np.ndarray,
    columns: np.ndarray,
    products: int,
    *,
    customers: int | None = None,
    keep: np.ndarray | None = None,
) -> sparse.csr_matrix:
    """1 where an entry of ``purchases`` is: its row in ``rows`` (-1: none), its product's
    column in ``columns`` (by code; -1: none), entries also in ``keep`` when given."""
    column = columns[purchases.products]
    taken = (rows >= 0) & (column >= 0)
    if keep is not None:
        taken &= keep
    if customers is None:
        customers = int(rows.max(initial=-1)) + 1
    # Entries come ordered by customer and product code, and codes map to columns in order:
    # the arrays are already in CSR order, one entry per cell.
    indptr = np.zeros(customers + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows[taken], minlength=customers), out=indptr[1:])
    return sparse.csr_matrix(
        (np.ones(int(taken.sum())), column[taken].astype(np.int32), indptr),
        shape=(customers, products),
    )


def purchase_history(
    model: ProductModel, purchases: Purchases, customer_ids: np.ndarray, as_of: date
) -> History:
    """The purchases of ``customer_ids`` (sorted) over the model's products.

    ``purchases`` may have been read for another window than the model's (a back-test's
    holdout): products are matched by SKU, and those the model does not know are left out.
    """
    position = np.minimum(np.searchsorted(model.skus, purchases.skus), len(model.skus) - 1)
    columns = np.where(model.skus[position] == purchases.skus, position, -1)
    row = np.minimum(np.searchsorted(customer_ids, purchases.customer_ids), len(customer_ids) - 1)
    rows = np.where(customer_ids[row] == purchases.customer_ids, row, -1)
    products, customers = len(model.skus), len(customer_ids)
    bought = _matrix(purchases, rows, columns, products, customers=customers)
    repeatable = np.array(
        [category in model.repeat_categories for category in model.categories], dtype=bool
    )
    product_column = columns[purchases.products]
    recent = (purchases.last_days >= _day(as_of - timedelta(days=RECENT_DAYS))) & ~repeatable[
        np.maximum(product_column, 0)
    ]
    excluded = _matrix(purchases, rows, columns, products, customers=customers, keep=recent)
    return History(customer_ids, bought, excluded)


@dataclass(frozen=True)
class Recommendations:
    """Top-k product indices per customer (``-1`` where fewer than k), with the product of
    the customer's that supports each one (``-1`` for a popularity pick) and its count."""

    products: np.ndarray  # (customers, k)
    because_of: np.ndarray  # (customers, k)
    together: np.ndarray  # (customers, k) customers who bought both


def _keep_top_per_row(matrix: sparse.csr_matrix, n: int) -> sparse.csr_matrix:
    """Each row's ``n`` highest entries (ties: the lowest columns)."""
    matrix = matrix.tocsr()
    matrix.sort_indices()
    keep = np.zeros(matrix.nnz, dtype=bool)
    for row in range(matrix.shape[0]):
        start, stop = matrix.indptr[row], matrix.indptr[row + 1]
        if stop - start <= n:
            keep[start:stop] = True
        else:
            keep[start + np.argsort(-matrix.data[start:stop], kind="stable")[:n]] = True
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    return sparse.csr_matrix(
        (matrix.data[keep], (rows[keep], matrix.indices[keep])), shape=matrix.shape
    )


def similarity_graph(model: ProductModel) -> sparse.csr_matrix:
    """Cosine similarity of the products' buyer sets (co-occurrence over the geometric mean
    of the buyer counts), keeping each product's ``NEIGHBOURS`` most similar products."""
    norm = 1 / np.sqrt(np.maximum(model.buyers, 1))
    similarity = (sparse.diags(norm) @ model.cooccurrence @ sparse.diags(norm)).tocsr()
    return _keep_top_per_row(similarity, NEIGHBOURS)


def recommend(model: ProductModel, history: History, k: int = DEFAULT_K) -> Recommendations:
    """Top ``k`` products per customer of ``history``; never a product it excludes.

    A customer's candidates are the neighbours (``similarity_graph``) of what they bought,
    scored by the sum of the similarities; the recent popularity of a candidate breaks ties,
    and the most popular products fill the lists that remain short.
    """
    if k < 1:
        msg = f"k must be at least 1, not {k}"
        raise ValueError(msg)
    customers = history.bought.shape[0]
    graph = similarity_graph(model)
    popularity = _popularity(model)
    # Recent popularity as a tie-breaker, below any similarity's resolution.
    tie_break = popularity / (popularity.max() + 1) * 1e-6
    top = np.full((customers, k), -1, dtype=np.int64)
    because = np.full((customers, k), -1, dtype=np.int64)
    together = np.zeros((customers, k), dtype=np.int64)
    counts, similarities = _PairValues(model.cooccurrence), _PairValues(graph)
    products = graph.shape[1]
    k_eff = min(k, products)
    # Dense blocks of candidate scores: argpartition on a block beats sorting sparse rows.
    block = max(1, min(BLOCK, BLOCK_CELLS // max(products, 1)))
    for start in range(0, customers, block):
        stop = min(start + block, customers)
        # Negated scores, worked on in place (a block is the largest array of the run):
        # the best candidates are the lowest, the products that are no candidate infinite.
        negated = (history.bought[start:stop] @ graph).toarray()
        excluded = history.excluded[start:stop].tocoo()
        negated[excluded.row, excluded.col] = 0
        no_candidate = negated <= 0
        negated += tie_break
        np.negative(negated, out=negated)
        negated[no_candidate] = np.inf
        best = np.argpartition(negated, k_eff - 1, axis=1)[:, :k_eff]
        best_scores = np.take_along_axis(negated, best, axis=1)
        order = np.argsort(best_scores, axis=1, kind="stable")
        best = np.take_along_axis(best, order, axis=1)
        best_scores = np.take_along_axis(best_scores, order, axis=1)
        top[start:stop, :k_eff] = np.where(np.isfinite(best_scores), best, -1)
        _fill_with_popular(top[start:stop], history.excluded[start:stop], popularity)
        because[start:stop], together[start:stop] = _explain(
            history.bought[start:stop], counts, similarities, top[start:stop]
        )
    return Recommendations(top, because, together)


def _popularity(model: ProductModel) -> np.ndarray:
    # Buyers in the last POPULAR_DAYS, ties broken by buyers ever.
    return np.asarray(model.recent_buyers + model.buyers / (model.buyers.max() + 1))


def _fill_with_popular(
    top: np.ndarray, excluded: sparse.csr_matrix, popularity: np.ndarray
) -> None:
    """Fill each row's empty slots (``-1``) with the most popular products not excluded and
    not already in the row."""
    k = top.shape[1]
    short = np.nonzero((top < 0).any(axis=1))[0]
    if len(short) == 0:
        return
    # Enough popular candidates for the customer with the most exclusions.
    per_row = np.diff(excluded.indptr)
    width = min(len(popularity), k + int(per_row.max(initial=0)))
    candidates = np.argsort(-popularity, kind="stable")[:width]
    allowed = ~np.asarray(excluded[short][:, candidates].todense(), dtype=bool)
    for slot in range(k):
        allowed &= candidates[np.newaxis, :] != top[short, slot][:, np.newaxis]
    for slot in range(k):
        empty = top[short, slot] < 0
        first = allowed.argmax(axis=1)
        found = empty & allowed[np.arange(len(short)), first]
        rows = short[found]
        top[rows, slot] = candidates[first[found]]
        allowed[np.nonzero(found)[0], first[found]] = False


class _PairValues:
    """``matrix[rows, columns]`` for arrays of pairs (0 where the matrix has no entry): a
    gather from a dense copy when the matrix is small (the products of a retailer's
    catalogue), a binary search of its sorted keys otherwise."""

    def __init__(self, matrix: sparse.csr_matrix) -> None:
        self.columns = matrix.shape[1]
        self.dense: np.ndarray | None = None
        if matrix.shape[0] * matrix.shape[1] <= DENSE_LOOKUP_CELLS:
            self.dense = matrix.toarray()
            return
        matrix = matrix.tocsr()
        matrix.sort_indices()
        rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
        self.keys = rows * self.columns + matrix.indices
        self.values = matrix.data

    def __call__(self, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
        if self.dense is not None:
            return np.asarray(self.dense[rows, columns])
        if len(self.keys) == 0:
            return np.zeros(len(rows))
        queries = rows.astype(np.int64) * self.columns + columns
        positions = np.minimum(np.searchsorted(self.keys, queries), len(self.keys) - 1)
        return np.where(self.keys[positions] == queries, self.values[positions], 0.0)


def _explain(
    bought: sparse.csr_matrix, counts: _PairValues, similarities: _PairValues, top: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each recommended product, the customer's product that supports it most (the one
    most similar to it) and how many customers bought both; ``-1`` for popularity picks."""
    customers, k = top.shape
    because = np.full(top.shape, -1, dtype=np.int64)
    together = np.zeros(top.shape, dtype=np.int64)
    rows = np.repeat(np.arange(customers), np.diff(bought.indptr))
    items = bought.indices.astype(np.int64)
    starts = bought.indptr[:-1]
    nonempty = np.diff(bought.indptr) > 0
    for slot in range(k):
        candidate = top[rows, slot]
        recommended = candidate >= 0
        similarity = similarities(items, np.maximum(candidate, 0)) * recommended
        best = np.zeros(customers)
        best[nonempty] = np.maximum.reduceat(similarity, starts[nonempty])
        support = np.nonzero((similarity > 0) & (similarity == best[rows]))[0]
        # The first supporting product of each customer (entries are in customer order).
        first = np.ones(len(support), dtype=bool)
        first[1:] = rows[support[1:]] != rows[support[:-1]]
        chosen = support[first]
        because[rows[chosen], slot] = items[chosen]
        together[rows[chosen], slot] = counts(items[chosen], candidate[chosen]).astype(np.int64)
    return because, together


def recommendation_lists(
    model: ProductModel, recommendations: Recommendations
) -> list[list[dict[str, Any]]]:
    """Each customer's recommendations as JSON-ready dicts with their reason."""
    lists: list[list[dict[str, Any]]] = []
    # Python strings per product, made once: a million customers' lists index them.
    skus = [str(sku) for sku in model.skus]
    names = [str(name) for name in model.names]
    popular = [
        f"popular: bought by {int(buyers)} customers in the last {POPULAR_DAYS} days"
        for buyers in model.recent_buyers
    ]
    for products, because, together in zip(
        recommendations.products.tolist(),
        recommendations.because_of.tolist(),
        recommendations.together.tolist(),
        strict=True,
    ):
        items = []
        for product, source, count in zip(products, because, together, strict=True):
            if product < 0:
                continue
            if source >= 0:
                reason = f"bought together with {names[source]} by {count} customers"
            else:
                reason = popular[product]
            items.append({"sku": skus[product], "name": names[product], "reason": reason})
        lists.append(items)
    return lists


def popularity_baseline(model: ProductModel, history: History, k: int = DEFAULT_K) -> np.ndarray:
    """The naive baseline: the ``k`` most popular products each customer has not just
    bought (the same exclusions as ``recommend``), ``-1`` where fewer than k remain."""
    customers = history.bought.shape[0]
    top = np.full((customers, k), -1, dtype=np.int64)
    popularity = _popularity(model)
    for start in range(0, customers, BLOCK):
        stop = min(start + BLOCK, customers)
        _fill_with_popular(top[start:stop], history.excluded[start:stop], popularity)
    return top
