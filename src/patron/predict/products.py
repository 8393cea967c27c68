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
import pandas as pd  # type: ignore[import-untyped]
from scipy import sparse  # type: ignore[import-untyped]

if TYPE_CHECKING:
    from datetime import date

RECENT_DAYS = 180
POPULAR_DAYS = 90
REPEAT_SHARE = 0.2
DEFAULT_K = 5
# Candidates are scored for this many customers at a time (a dense block of scores).
BLOCK = 20_000


@dataclass(frozen=True)
class ProductModel:
    """Co-occurrence counts between products and what is popular, as of one date."""

    skus: np.ndarray  # product index -> SKU
    names: np.ndarray
    categories: np.ndarray
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


def _categories_bought_again(bought: pd.DataFrame) -> frozenset[str]:
    per_category = bought.groupby("category", dropna=True)["days"].agg(
        again=lambda days: float((days > 1).mean())
    )
    return frozenset(
        str(name) for name in per_category.index[per_category["again"] >= REPEAT_SHARE]
    )


def fit_next_products(bought: pd.DataFrame, as_of: date) -> ProductModel:
    """Fit co-occurrence on ``bought`` (``inputs.bought_products``: one row per customer and
    SKU with ``days`` and ``last_day``), all before ``as_of``."""
    catalogue = (
        bought.groupby("sku", sort=True)
        .agg(product_name=("product_name", "first"), category=("category", "first"))
        .reset_index()
    )
    skus = catalogue["sku"].to_numpy()
    matrix = _matrix(bought, skus)[1]
    binary = matrix.copy()
    binary.data[:] = 1.0
    cooccurrence = (binary.T @ binary).tocsr()
    cooccurrence.setdiag(0)
    cooccurrence.eliminate_zeros()
    buyers = np.asarray(binary.sum(axis=0)).ravel()
    since = as_of - timedelta(days=POPULAR_DAYS)
    recent = bought[pd.to_datetime(bought["last_day"]) >= pd.Timestamp(since)]
    recent_counts = recent.groupby("sku").size().reindex(skus, fill_value=0).to_numpy()
    return ProductModel(
        skus=skus,
        names=catalogue["product_name"].fillna("").to_numpy(),
        categories=catalogue["category"].fillna("").to_numpy(),
        buyers=buyers,
        cooccurrence=cooccurrence.astype(np.float64),
        recent_buyers=recent_counts.astype(np.float64),
        repeat_categories=_categories_bought_again(bought),
    )


def _matrix(
    bought: pd.DataFrame, skus: np.ndarray, customer_ids: np.ndarray | None = None
) -> tuple[np.ndarray, sparse.csr_matrix]:
    if customer_ids is None:
        customer_ids = np.unique(bought["customer_id"].to_numpy())
    rows = np.searchsorted(customer_ids, bought["customer_id"].to_numpy())
    cols = np.searchsorted(skus, bought["sku"].to_numpy())
    known = (cols < len(skus)) & (skus[np.minimum(cols, len(skus) - 1)] == bought["sku"].to_numpy())
    known &= (rows < len(customer_ids)) & (
        customer_ids[np.minimum(rows, len(customer_ids) - 1)] == bought["customer_id"].to_numpy()
    )
    values = np.ones(int(known.sum()))
    matrix = sparse.csr_matrix(
        (values, (rows[known], cols[known])), shape=(len(customer_ids), len(skus))
    )
    matrix.sum_duplicates()
    return customer_ids, matrix


def purchase_history(
    model: ProductModel, bought: pd.DataFrame, customer_ids: np.ndarray, as_of: date
) -> History:
    """The customers' purchases (``customer_ids`` sorted) over the model's products."""
    _, matrix = _matrix(bought, model.skus, customer_ids)
    matrix.data[:] = 1.0
    since = pd.Timestamp(as_of - timedelta(days=RECENT_DAYS))
    repeatable = bought["category"].isin(model.repeat_categories).to_numpy()
    recent = bought[(pd.to_datetime(bought["last_day"]) >= since).to_numpy() & ~repeatable]
    _, excluded = _matrix(recent, model.skus, customer_ids)
    excluded.data[:] = 1.0
    return History(customer_ids, matrix, excluded)


@dataclass(frozen=True)
class Recommendations:
    """Top-k product indices per customer (``-1`` where fewer than k), with the product of
    the customer's that supports each one (``-1`` for a popularity pick) and its count."""

    products: np.ndarray  # (customers, k)
    because_of: np.ndarray  # (customers, k)
    together: np.ndarray  # (customers, k) customers who bought both


def recommend(model: ProductModel, history: History, k: int = DEFAULT_K) -> Recommendations:
    """Top ``k`` products per customer of ``history``; never a product it excludes."""
    if k < 1:
        msg = f"k must be at least 1, not {k}"
        raise ValueError(msg)
    customers, products = history.bought.shape
    k_eff = min(k, products)
    # Cosine: co-occurrence over the geometric mean of the two products' buyer counts.
    norm = np.sqrt(np.maximum(model.buyers, 1))
    similarity = sparse.diags(1 / norm) @ model.cooccurrence @ sparse.diags(1 / norm)
    # Recent popularity as a small tie-breaker (below any co-occurrence score's resolution).
    popularity = model.recent_buyers + model.buyers / (model.buyers.max() + 1)
    tie_break = popularity / (popularity.max() + 1) * 1e-6
    top = np.full((customers, k), -1, dtype=np.int64)
    because = np.full((customers, k), -1, dtype=np.int64)
    together = np.zeros((customers, k), dtype=np.int64)
    cooccurrence = model.cooccurrence.tocsc()
    for start in range(0, customers, BLOCK):
        stop = min(start + BLOCK, customers)
        bought = history.bought[start:stop]
        scores = np.asarray((bought @ similarity).todense())
        has_score = scores > 0
        scores += tie_break
        # Popular products follow the scored ones, in order of popularity.
        scores[~has_score] = tie_break[np.nonzero(~has_score)[1]] - 1.0
        excluded = history.excluded[start:stop].tocoo()
        scores[excluded.row, excluded.col] = -np.inf
        if k_eff < products:
            best = np.argpartition(-scores, k_eff - 1, axis=1)[:, :k_eff]
        else:
            best = np.tile(np.arange(products), (stop - start, 1))
        order = np.argsort(-np.take_along_axis(scores, best, axis=1), axis=1, kind="stable")
        best = np.take_along_axis(best, order, axis=1)
        best_scores = np.take_along_axis(scores, best, axis=1)
        best[~np.isfinite(best_scores)] = -1
        top[start:stop, :k_eff] = best
        supported = best_scores > 0
        because[start:stop, :k_eff], together[start:stop, :k_eff] = _explain(
            bought, cooccurrence, best, supported
        )
    return Recommendations(top, because, together)


def _explain(
    bought: sparse.csr_matrix,
    cooccurrence: sparse.csc_matrix,
    best: np.ndarray,
    supported: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """For each recommended product, the customer's product bought with it by most
    customers, and how many."""
    because = np.full(best.shape, -1, dtype=np.int64)
    together = np.zeros(best.shape, dtype=np.int64)
    for column in range(best.shape[1]):
        rows = np.nonzero(supported[:, column])[0]
        if len(rows) == 0:
            continue
        candidates = best[rows, column]
        # Row by row: the customer's products weighted by their co-occurrence with the
        # candidate.
        weights = bought[rows].multiply(cooccurrence[:, candidates].T.tocsr()).tocsr()
        if weights.nnz == 0:
            continue
        argmax = np.asarray(weights.argmax(axis=1)).ravel()
        counts = np.asarray(weights.max(axis=1).todense()).ravel()
        because[rows, column] = np.where(counts > 0, argmax, -1)
        together[rows, column] = counts.astype(np.int64)
    return because, together


def recommendation_lists(
    model: ProductModel, recommendations: Recommendations
) -> list[list[dict[str, Any]]]:
    """Each customer's recommendations as JSON-ready dicts with their reason."""
    lists: list[list[dict[str, Any]]] = []
    skus, names = model.skus, model.names
    recent = model.recent_buyers
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
                buyers = int(recent[product])
                reason = f"popular: bought by {buyers} customers in the last {POPULAR_DAYS} days"
            items.append({"sku": str(skus[product]), "name": str(names[product]), "reason": reason})
        lists.append(items)
    return lists


def popularity_baseline(model: ProductModel, history: History, k: int = DEFAULT_K) -> np.ndarray:
    """The naive baseline: the ``k`` most popular products each customer has not just
    bought (the same exclusions as ``recommend``), ``-1`` where fewer than k remain."""
    popularity = model.recent_buyers + model.buyers / (model.buyers.max() + 1)
    order = np.argsort(-popularity, kind="stable")
    customers = history.bought.shape[0]
    top = np.full((customers, k), -1, dtype=np.int64)
    for start in range(0, customers, BLOCK):
        stop = min(start + BLOCK, customers)
        # Candidates in order of popularity, minus each customer's excluded products.
        allowed = ~np.asarray(history.excluded[start:stop][:, order].todense(), dtype=bool)
        ranks = np.cumsum(allowed, axis=1)
        for position in range(k):
            chosen = allowed & (ranks == position + 1)
            found = chosen.any(axis=1)
            top[start:stop, position] = np.where(found, order[chosen.argmax(axis=1)], -1)
    return top
