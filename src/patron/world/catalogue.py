"""The retailer's catalogue: departments, product types with their seasons, and products.

A department store that sells clothing, shoes, beauty, home, garden, toys, sport and food
gifts. Each product type has a price range and a season, so that coats sell in winter,
garden furniture in summer and hampers at Christmas.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from patron.world.draw import weighted

if TYPE_CHECKING:
    import random

# Monthly demand weights (January first) of each season profile.
SEASONS: dict[str, tuple[float, ...]] = {
    "all": (1.0,) * 12,
    "winter": (1.4, 1.1, 0.7, 0.4, 0.2, 0.15, 0.15, 0.3, 0.7, 1.3, 1.6, 1.6),
    "summer": (0.3, 0.3, 0.6, 1.0, 1.5, 1.9, 1.9, 1.4, 0.6, 0.3, 0.2, 0.3),
    "spring": (0.3, 0.5, 1.4, 1.9, 1.9, 1.4, 1.0, 0.7, 0.5, 0.3, 0.2, 0.2),
    "christmas": (0.5, 0.4, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.6, 0.9, 2.0, 3.5),
    "christmas_only": (0.05, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.1, 0.4, 1.6, 4.0),
    "back_to_school": (0.3, 0.3, 0.3, 0.3, 0.4, 0.6, 1.6, 2.6, 1.5, 0.4, 0.3, 0.3),
    "new_year": (2.2, 1.4, 1.1, 1.0, 1.0, 0.9, 0.9, 0.8, 0.9, 0.8, 0.8, 0.7),
    "easter_christmas": (0.6, 0.8, 1.8, 1.8, 0.5, 0.4, 0.4, 0.4, 0.5, 0.8, 1.4, 2.5),
}


@dataclass(frozen=True, slots=True)
class ProductType:
    department: str
    code: str
    name: str
    # Price range in whole pounds.
    low: int
    high: int
    season: str
    # How much of the department's sales this type makes, before seasons.
    weight: float
    items: tuple[str, ...]
    coloured: bool = True


DEPARTMENTS: dict[str, str] = {
    "Womenswear": "WW",
    "Menswear": "MW",
    "Kids": "KD",
    "Shoes": "SH",
    "Beauty": "BE",
    "Home": "HO",
    "Kitchen": "KI",
    "Garden": "GA",
    "Toys & Games": "TG",
    "Sport": "SP",
    "Food & Gifts": "FG",
}

PRODUCT_TYPES: tuple[ProductType, ...] = (
    ProductType("Womenswear", "DRS", "Dresses", 25, 120, "summer", 1.2,
                ("Midi Dress", "Wrap Dress", "Shirt Dress", "Maxi Dress")),
    ProductType("Womenswear", "COA", "Coats", 60, 250, "winter", 0.8,
                ("Wool Blend Coat", "Puffer Jacket", "Trench Coat", "Parka")),
    ProductType("Womenswear", "KNI", "Knitwear", 25, 90, "winter", 1.0,
                ("Crew Neck Jumper", "Cardigan", "Roll Neck Jumper")),
    ProductType("Womenswear", "TOP", "Tops", 10, 45, "all", 1.5,
                ("Cotton T-Shirt", "Blouse", "Vest Top", "Long Sleeve Top")),
    ProductType("Womenswear", "JEA", "Jeans", 30, 90, "all", 1.0,
                ("Straight Jeans", "Skinny Jeans", "Wide Leg Jeans")),
    ProductType("Womenswear", "SWM", "Swimwear", 15, 50, "summer", 0.5,
                ("Swimsuit", "Bikini Set")),
    ProductType("Menswear", "SHI", "Shirts", 20, 70, "all", 1.2,
                ("Oxford Shirt", "Linen Shirt", "Check Shirt")),
    ProductType("Menswear", "COA", "Coats", 70, 260, "winter", 0.8,
                ("Overcoat", "Quilted Jacket", "Waterproof Jacket")),
    ProductType("Menswear", "KNI", "Knitwear", 25, 95, "winter", 0.9,
                ("Merino Jumper", "Quarter Zip", "Cable Knit Jumper")),
    ProductType("Menswear", "TEE", "T-Shirts", 8, 35, "summer", 1.3,
                ("Crew T-Shirt", "Polo Shirt", "Pocket T-Shirt")),
    ProductType("Menswear", "TRO", "Trousers", 25, 80, "all", 1.0,
                ("Chinos", "Slim Jeans", "Joggers")),
    ProductType("Menswear", "SHO", "Shorts", 15, 40, "summer", 0.5,
                ("Chino Shorts", "Swim Shorts")),
    ProductType("Kids", "BAB", "Babywear", 6, 30, "all", 1.0,
                ("Sleepsuit Multipack", "Bodysuit Set", "Baby Cardigan")),
    ProductType("Kids", "SCH", "School Uniform", 5, 25, "back_to_school", 1.0,
                ("School Polo Shirts", "School Trousers", "School Skirt", "School Jumper")),
    ProductType("Kids", "OUT", "Kids Outerwear", 20, 60, "winter", 0.6,
                ("Kids Puffer Coat", "Kids Raincoat")),
    ProductType("Shoes", "TRA", "Trainers", 35, 130, "all", 1.3,
                ("Running Trainers", "Canvas Trainers", "Leather Trainers")),
    ProductType("Shoes", "BOO", "Boots", 50, 180, "winter", 0.8,
                ("Chelsea Boots", "Walking Boots", "Ankle Boots")),
    ProductType("Shoes", "SAN", "Sandals", 15, 60, "summer", 0.5,
                ("Leather Sandals", "Sliders")),
    ProductType("Shoes", "SLI", "Slippers", 10, 35, "christmas", 0.4,
                ("Moccasin Slippers", "Mule Slippers")),
    ProductType("Beauty", "FRA", "Fragrance", 25, 110, "christmas", 1.0,
                ("Eau de Parfum 50ml", "Eau de Toilette 100ml"), coloured=False),
    ProductType("Beauty", "SKI", "Skincare", 8, 60, "all", 1.4,
                ("Moisturiser", "Cleanser", "Serum", "Night Cream"), coloured=False),
    ProductType("Beauty", "MAK", "Make-up", 5, 40, "all", 1.2,
                ("Lipstick", "Mascara", "Foundation", "Eyeshadow Palette")),
    ProductType("Beauty", "GIF", "Gift Sets", 15, 70, "christmas_only", 0.5,
                ("Pamper Gift Set", "Bath Gift Set"), coloured=False),
    ProductType("Home", "BED", "Bedding", 20, 120, "all", 1.0,
                ("Duvet Cover Set", "Fitted Sheet", "Pillowcase Pair")),
    ProductType("Home", "CAN", "Candles", 8, 35, "christmas", 0.8,
                ("Scented Candle", "Reed Diffuser"), coloured=False),
    ProductType("Home", "CUS", "Cushions", 12, 45, "spring", 0.7,
                ("Velvet Cushion", "Linen Cushion", "Throw")),
    ProductType("Home", "DEC", "Christmas Decorations", 4, 40, "christmas_only", 0.6,
                ("Bauble Set", "LED Garland", "Wreath"), coloured=False),
    ProductType("Kitchen", "COO", "Cookware", 20, 150, "all", 1.0,
                ("Frying Pan", "Saucepan Set", "Casserole Dish")),
    ProductType("Kitchen", "TAB", "Tableware", 8, 60, "all", 1.0,
                ("Dinner Set", "Mug Set", "Glass Tumblers")),
    ProductType("Kitchen", "APP", "Small Appliances", 30, 250, "christmas", 0.7,
                ("Kettle", "Toaster", "Coffee Machine", "Blender")),
    ProductType("Kitchen", "BBQ", "Barbecue", 25, 300, "summer", 0.4,
                ("Charcoal Barbecue", "BBQ Tool Set"), coloured=False),
    ProductType("Garden", "PLA", "Plants", 5, 40, "spring", 1.0,
                ("Potted Lavender", "Rose Bush", "Herb Collection"), coloured=False),
    ProductType("Garden", "FUR", "Garden Furniture", 80, 600, "summer", 0.5,
                ("Bistro Set", "Garden Bench", "Sun Lounger")),
    ProductType("Garden", "TOO", "Garden Tools", 10, 70, "spring", 0.6,
                ("Pruning Shears", "Hose Reel", "Trowel and Fork Set"), coloured=False),
    ProductType("Toys & Games", "TOY", "Toys", 8, 80, "christmas", 1.2,
                ("Building Set", "Plush Bear", "Remote Control Car", "Doll House"),
                coloured=False),
    ProductType("Toys & Games", "GAM", "Board Games", 12, 45, "christmas", 0.8,
                ("Family Board Game", "Jigsaw Puzzle 1000 Pieces"), coloured=False),
    ProductType("Toys & Games", "OUT", "Outdoor Toys", 15, 120, "summer", 0.5,
                ("Paddling Pool", "Garden Swing", "Scooter")),
    ProductType("Sport", "WEA", "Sportswear", 15, 70, "new_year", 1.0,
                ("Running Leggings", "Training Top", "Sports Bra", "Track Jacket")),
    ProductType("Sport", "FIT", "Fitness Equipment", 15, 200, "new_year", 0.6,
                ("Yoga Mat", "Dumbbell Set", "Resistance Bands"), coloured=False),
    ProductType("Sport", "CAM", "Camping", 20, 250, "summer", 0.5,
                ("Two Person Tent", "Sleeping Bag", "Camping Chair")),
    ProductType("Food & Gifts", "CHO", "Chocolate", 3, 25, "easter_christmas", 1.0,
                ("Milk Chocolate Selection", "Dark Chocolate Truffles"), coloured=False),
    ProductType("Food & Gifts", "HAM", "Hampers", 30, 120, "christmas_only", 0.5,
                ("Classic Hamper", "Luxury Hamper"), coloured=False),
    ProductType("Food & Gifts", "WIN", "Wine", 8, 40, "christmas", 0.8,
                ("Malbec", "Sauvignon Blanc", "Prosecco"), coloured=False),
)  # fmt: skip

BRANDS = (
    "Northbay", "Hartwell", "Ashford & Co", "Kestrel", "Marlowe", "Fenwick Lane", "Bramble",
    "Oakridge", "Luma", "Selby", "Thistle", "Copperleaf", "Wren", "Halden", "Rowan & Reed",
    "Ember", "Calder", "Moorland", "Pebble", "Linton",
)  # fmt: skip
STYLES = (
    "Classic", "Essential", "Relaxed", "Slim", "Premium", "Organic", "Recycled", "Heritage",
    "Everyday", "Luxe", "Studio", "Coastal",
)  # fmt: skip
COLOURS = (
    "Navy", "Black", "White", "Grey Marl", "Camel", "Forest Green", "Burgundy", "Sky Blue",
    "Oatmeal", "Rust", "Sage", "Pink",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    name: str
    department: str
    # "Department > Type", as a product feed would give it.
    category: str
    brand: str
    # Price in minor units (pence).
    price: int
    season: str
    # The product's share of its type's sales (a few best sellers, a long tail).
    popularity: float

    @property
    def slug(self) -> str:
        return self.sku.lower()


@dataclass(frozen=True, slots=True)
class _Table:
    products: tuple[Product, ...]
    cum_weights: tuple[float, ...]


class Catalogue:
    """The products, and fast seasonal sampling of them by month and department."""

    def __init__(self, products: tuple[Product, ...]) -> None:
        self.products = products
        self.departments = tuple(DEPARTMENTS)
        self._all_by_month: list[_Table] = []
        self._by_department_month: dict[tuple[str, int], _Table] = {}
        type_weight = {(t.department, t.name): t.weight for t in PRODUCT_TYPES}
        for month in range(12):
            weights = [
                type_weight[(p.department, p.category.split(" > ")[1])]
                * SEASONS[p.season][month]
                * p.popularity
                for p in products
            ]
            self._all_by_month.append(_table(products, weights))
            for department in self.departments:
                chosen = [
                    (p, w)
                    for p, w in zip(products, weights, strict=True)
                    if p.department == department
                ]
                self._by_department_month[(department, month)] = _table(
                    tuple(p for p, _ in chosen), [w for _, w in chosen]
                )

    def pick(self, rng: random.Random, month: int, department: str | None = None) -> Product:
        """A product as bought in ``month`` (0-11), from ``department`` if given."""
        table = (
            self._all_by_month[month]
            if department is None
            else self._by_department_month[(department, month)]
        )
        return weighted(rng, table.products, table.cum_weights)


def _table(products: tuple[Product, ...], weights: list[float]) -> _Table:
    return _Table(products, tuple(itertools.accumulate(weights)))


def _price(rng: random.Random, low: int, high: int) -> int:
    # Skewed towards the low end of the range, ending in .99, .50 or .00 as shelves do.
    pounds = low + int((high - low) * rng.random() ** 1.6)
    ending = rng.random()
    if ending < 0.7:
        return max(pounds * 100 - 1, 99)
    if ending < 0.85:
        return pounds * 100 + 50
    return pounds * 100


def catalogue_size(customers: int) -> int:
    """A few hundred products for a small world, up to two thousand for a large one."""
    return max(300, min(2000, customers // 50))


def build_catalogue(rng: random.Random, size: int) -> Catalogue:
    """About ``size`` products spread over the product types by their weight."""
    total_weight = sum(t.weight for t in PRODUCT_TYPES)
    brands_by_department = {department: tuple(rng.sample(BRANDS, 4)) for department in DEPARTMENTS}
    products: list[Product] = []
    for product_type in PRODUCT_TYPES:
        count = max(3, round(size * product_type.weight / total_weight))
        department_code = DEPARTMENTS[product_type.department]
        for number in range(1, count + 1):
            brand = rng.choice(brands_by_department[product_type.department])
            name = f"{brand} {rng.choice(STYLES)} {rng.choice(product_type.items)}"
            if product_type.coloured:
                name += f", {rng.choice(COLOURS)}"
            products.append(
                Product(
                    sku=f"{department_code}-{product_type.code}-{number:04d}",
                    name=name,
                    department=product_type.department,
                    category=f"{product_type.department} > {product_type.name}",
                    brand=brand,
                    price=_price(rng, product_type.low, product_type.high),
                    season=product_type.season,
                    popularity=1.0 / number**0.8,
                )
            )
    products.sort(key=lambda p: p.sku)
    return Catalogue(tuple(products))
