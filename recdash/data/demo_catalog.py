"""The demo shop's catalog: its category tree, invented brands, and products with titles.

The tables below describe a plausible shop (seven departments, a three-level category tree,
eight invented brands per department at budget/mid/premium price levels, and the complementary
purchase chains such as smartphone -> case -> charger); `_make_items` draws products from them
with Zipf-like popularity and a few late launches (cold start), and `_catalog` writes readable
titles and descriptions. The shopper simulation in `recdash.data.demo` is this module's only
user; its underscore names are shared with that module alone. Every draw comes from the
generator the caller passes, so the demo shop stays byte-identical for equal arguments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recdash.data import schema as S

DEMO_START = np.datetime64("2025-01-01T00:00:00", "s")  # first possible event (UTC)
DEMO_END = np.datetime64("2025-07-01T00:00:00", "s")  # events end before this instant
LAUNCH_FROM = np.datetime64("2025-06-01T00:00:00", "s")  # late products launch after this
NEW_ARRIVAL = "New arrival."  # how a late product's description starts
_DAY = 86_400
_SPAN = int((DEMO_END - DEMO_START) / np.timedelta64(1, "s"))

# Department -> brands as "Name:level" (0 budget, 1 mid, 2 premium); title adjectives; model
# suffixes (may be empty); default variants; selling points used in descriptions.
_DEPARTMENTS: dict[str, tuple[str, str, str, str, str]] = {
    "Electronics": (
        "Lumio:1; Voltix:0; Pixora:2; Arcwave:1; Zentro:0; Helix:2; Quorra:1; Brightline:0",
        "Nova; Pulse; Arc; Vega; Orbit; Flux; Echo", "Pro; Max; Lite; Air; Plus; 2; 3; Mini",
        "Black; White; Graphite; Silver; Midnight Blue",
        "two-year warranty; premium build quality; compact, lightweight design; recycled "
        "packaging; 30-day free returns; highly rated by customers"),
    "Home & Kitchen": (
        "Nordvik:2; Casavia:1; Kitchara:0; Hearthly:1; Linnea:2; Brava Home:0; Tidewell:1; "
        "Ember & Oak:2", "Classic; Professional; Compact; Essential; Deluxe; Signature; Everyday",
        "", "Stainless Steel; Matte Black; White; Sage Green; Charcoal",
        "two-year warranty; easy to clean; built to last; designed in Scandinavia; gift-ready "
        "packaging; 30-day free returns"),
    "Beauty": (
        "Velora:1; Aurelle:2; Dewlin:0; Maison Rive:2; Purelle:1; Glowkin:0; Serafin:2; Botaniq:1",
        "Hydrating; Radiance; Gentle; Nourishing; Repair; Daily; Botanical", "",
        "50 ml; 100 ml; 200 ml; 250 ml",
        "dermatologically tested; vegan; cruelty-free; recyclable packaging; suitable for "
        "sensitive skin; salon-quality results"),
    "Sports & Outdoors": (
        "Trailborn:1; Peakform:2; Stridex:0; Altura:2; Bluecrest:1; Ironpeak:0; Kinetiq:1; "
        "Wildmark:0", "Trail; Ultralight; Tempo; Summit; All-Weather; Endurance; Active", "",
        "Black; Navy; Red; Grey; Lime",
        "built for everyday training; tested outdoors; lifetime warranty; made with recycled "
        "materials; durable construction; 30-day free returns"),
    "Fashion": (
        "Marlow & Finch:2; Covelle:1; Urbanique:0; Hartley Row:2; Solenne:1; Northbay:0; "
        "Linden & Co:1; Veritas Studio:2",
        "Classic; Modern; Everyday; Heritage; Essential; Signature; Urban", "",
        "Black; Navy; Olive; Beige; White; Burgundy",
        "timeless design; responsibly sourced materials; made to last; handmade details; easy "
        "care; free returns"),
    "Toys & Games": (
        "Playvent:1; Brickly:1; Tinkerloo:0; Gamestar:2; Wonderbloc:1; Kidora:0; Puzzlewood:2; "
        "Hexaplay:0", "Deluxe; Junior; Adventure; Family; Classic; Galaxy; Creative", "",
        "Ages 3+; Ages 6+; Ages 8+; Ages 12+",
        "hours of screen-free fun; safety tested; great for family nights; illustrated guide "
        "included; an ideal gift; sustainably made"),
    "Grocery": (
        "Bellacasa:1; Greenacre:0; Roastery Nine:2; Harvest Lane:0; Olivara:2; Crunchwell:0; "
        "Morning Mill:1; Cacao & Co:2",
        "Organic; Classic; Fairtrade; Artisan; Premium; Everyday; Family", "",
        "250 g; 500 g; 1 kg; 6-Pack",
        "sustainably sourced; no artificial flavours; resealable pack; carefully selected "
        "ingredients; suitable for vegans; made in small batches"),
}
_REFILL_DEPARTMENTS = ("Beauty", "Grocery")  # consumables shoppers re-buy now and then

# "Department > Sub-category > Leaf | product nouns | price range | variants (blank: the
# department's)"; an indented line continues the row above.
_LEAVES = """
Electronics > Phones > Smartphones | Smartphone; 5G Smartphone | 149-1199
    | 128GB Black; 256GB Graphite; 128GB Silver; 256GB Midnight Blue; 512GB Black
Electronics > Phones > Phone Cases | Phone Case; Rugged Case; Clear Case; Wallet Case | 9-59 |
Electronics > Phones > Chargers & Cables
    | Fast Charger; USB-C Cable; Wireless Charging Pad; Power Bank | 9-79 |
Electronics > Phones > Screen Protectors | Screen Protector; Privacy Screen Protector | 6-29
    | Single; 2-Pack; 3-Pack
Electronics > Audio > Headphones
    | Wireless Earbuds; Over-Ear Headphones; Noise-Cancelling Headphones | 19-399 |
Electronics > Audio > Speakers | Bluetooth Speaker; Smart Speaker; Soundbar | 29-499 |
Electronics > Cameras > Digital Cameras | Mirrorless Camera; Compact Camera; Action Camera
    | 199-2499 | Black; Silver; Creator Kit; Travel Kit
Electronics > Cameras > Memory Cards | microSD Card; SD Card | 8-89 | 64GB; 128GB; 256GB; 512GB
Electronics > Cameras > Camera Bags | Camera Bag; Camera Backpack; Camera Sling | 24-179
    | Black; Grey; Olive
Electronics > Computers > Laptops | Laptop; Ultrabook; 2-in-1 Laptop | 399-2499
    | 13-inch; 14-inch; 15.6-inch; 16-inch
Electronics > Computers > Laptop Sleeves | Laptop Sleeve; Laptop Backpack | 15-89
    | 13-inch; 14-inch; 15.6-inch; 16-inch
Electronics > Computers > Mice & Keyboards | Wireless Mouse; Ergonomic Mouse; Mechanical Keyboard
    | 12-149 |
Home & Kitchen > Kitchen Appliances > Coffee Makers
    | Drip Coffee Maker; Espresso Machine; Pod Coffee Machine; French Press | 29-699 |
Home & Kitchen > Kitchen Appliances > Blenders | Blender; Personal Blender; Hand Blender | 24-299 |
Home & Kitchen > Kitchen Appliances > Toasters | Toaster; 4-Slice Toaster | 19-149 |
Home & Kitchen > Cookware > Knives | Chef's Knife; Santoku Knife; Bread Knife; Paring Knife | 12-249
    | 6-inch; 7-inch; 8-inch; Damascus Steel; Olive Wood Handle
Home & Kitchen > Cookware > Pans | Frying Pan; Saucepan; Cast Iron Skillet; Wok | 19-199
    | 20 cm; 24 cm; 28 cm; 30 cm
Home & Kitchen > Cleaning > Descalers | Descaler; Descaling Tablets; Machine Cleaning Kit | 5-24
    | 250 ml; 500 ml; 6-Pack; 12-Pack
Home & Kitchen > Cleaning > Vacuum Cleaners | Cordless Vacuum; Robot Vacuum; Handheld Vacuum
    | 79-799 |
Home & Kitchen > Bedding > Bed Sheets | Sheet Set; Duvet Cover; Pillowcase Pair | 19-149
    | Single; Double; Queen; King
Home & Kitchen > Bedding > Pillows | Pillow; Memory Foam Pillow; Cooling Pillow | 15-89
    | Standard; King; 2-Pack
Beauty > Skincare > Moisturisers | Face Cream; Day Moisturiser; Night Cream | 8-89
    | 50 ml; 75 ml; 100 ml
Beauty > Skincare > Serums | Vitamin C Serum; Hyaluronic Serum; Retinol Serum | 12-99
    | 15 ml; 30 ml; 50 ml
Beauty > Skincare > Cleansers | Gel Cleanser; Cleansing Balm; Micellar Water | 6-39 |
Beauty > Hair Care > Shampoo | Shampoo; Clarifying Shampoo | 4-32 | 250 ml; 400 ml; 1 L
Beauty > Hair Care > Conditioner | Conditioner; Leave-In Conditioner | 4-32 | 200 ml; 250 ml; 400 ml
Beauty > Hair Care > Hair Dryers | Hair Dryer; Ionic Hair Dryer | 25-349 | Black; Rose Gold; White
Beauty > Makeup > Lipstick | Lipstick; Liquid Lipstick; Lip Tint | 6-45
    | Rosewood; Coral; Nude; Berry; Classic Red
Beauty > Makeup > Mascara | Mascara; Volumising Mascara | 6-39 | Black; Brown; Waterproof Black
Sports & Outdoors > Running > Running Shoes | Running Shoes; Trail Running Shoes | 49-219
    | Black/White; Navy; Volt Green; Grey; Coral
Sports & Outdoors > Running > Running Socks | Running Socks; Compression Socks | 7-29
    | 3-Pack; Size M; Size L
Sports & Outdoors > Running > GPS Watches | GPS Running Watch; Fitness Tracker | 49-599
    | Black; Slate; White
Sports & Outdoors > Camping > Tents | Dome Tent; Backpacking Tent; Family Tent | 59-699
    | 2-Person; 3-Person; 4-Person; 6-Person
Sports & Outdoors > Camping > Sleeping Bags | Sleeping Bag; Mummy Sleeping Bag | 29-299
    | Summer; 3-Season; 4-Season
Sports & Outdoors > Camping > Lanterns | LED Camping Lantern; Rechargeable Lantern; Headlamp
    | 12-79 |
Sports & Outdoors > Fitness > Yoga Mats | Yoga Mat; Exercise Mat | 15-99 | 4 mm; 6 mm; Purple; Teal
Sports & Outdoors > Fitness > Dumbbells | Dumbbell Pair; Adjustable Dumbbell; Kettlebell | 19-349
    | 2 kg; 5 kg; 10 kg; 24 kg
Sports & Outdoors > Fitness > Water Bottles | Water Bottle; Insulated Bottle | 9-49
    | 500 ml; 750 ml; 1 L
Fashion > Women > Dresses | Midi Dress; Wrap Dress; Maxi Dress | 29-249 |
Fashion > Women > Handbags | Tote Bag; Crossbody Bag; Shoulder Bag | 39-499 |
Fashion > Men > Jackets | Rain Jacket; Denim Jacket; Puffer Jacket | 49-399 |
Fashion > Men > Shirts | Oxford Shirt; Linen Shirt; Polo Shirt | 19-129 |
Fashion > Shoes > Sneakers | Sneakers; Leather Sneakers | 39-199 |
Fashion > Shoes > Boots | Chelsea Boots; Hiking Boots; Ankle Boots | 59-299 |
Fashion > Accessories > Sunglasses | Sunglasses; Polarised Sunglasses | 15-249
    | Tortoiseshell; Black; Gold
Fashion > Accessories > Watches | Analog Watch; Chronograph Watch | 39-599
    | Silver; Gold; Black Leather
Toys & Games > Video Games > Consoles | Game Console; Handheld Console | 199-549
    | Standard Edition; Digital Edition; Bundle
Toys & Games > Video Games > Controllers | Wireless Controller; Pro Controller | 29-89
    | Black; White; Red
Toys & Games > Video Games > Console Games | Racing Game; Adventure Game; Sports Game; Party Game
    | 19-69 | Standard Edition; Deluxe Edition
Toys & Games > Building Sets > Building Kits | Building Kit; Robotics Kit | 9-199 |
Toys & Games > Board Games & Puzzles > Board Games | Board Game; Strategy Game; Card Game | 12-69 |
Toys & Games > Board Games & Puzzles > Jigsaw Puzzles | Jigsaw Puzzle | 9-39
    | 500 Pieces; 1000 Pieces; 1500 Pieces
Toys & Games > Outdoor Play > Scooters | Kick Scooter; Balance Bike | 39-199 |
Grocery > Coffee & Tea > Coffee Beans | Coffee Beans; Espresso Beans; Ground Coffee | 5-39
    | 250 g; 500 g; 1 kg
Grocery > Coffee & Tea > Tea | Black Tea; Green Tea; Herbal Tea | 2-19 | 20 Bags; 40 Bags; 80 Bags
Grocery > Snacks > Chocolate | Dark Chocolate; Milk Chocolate; Chocolate Bar | 1-15
    | 100 g; 200 g; 5-Pack
Grocery > Snacks > Nuts & Dried Fruit | Mixed Nuts; Almonds; Trail Mix | 3-19 | 200 g; 500 g; 1 kg
Grocery > Pantry > Pasta | Spaghetti; Penne; Fusilli | 1-8 | 500 g; 1 kg; 3-Pack
Grocery > Pantry > Olive Oil | Extra Virgin Olive Oil; Olive Oil Spray | 6-29 | 500 ml; 750 ml; 1 L
Grocery > Breakfast > Cereal | Granola; Muesli; Porridge Oats | 2-9 | 500 g; 750 g; 1 kg
"""

# Complementary purchase chains by leaf: buying a step makes the next step likely soon after.
_CHAINS = (
    "Smartphones -> Phone Cases -> Screen Protectors | Chargers & Cables",
    "Digital Cameras -> Memory Cards -> Camera Bags",
    "Laptops -> Laptop Sleeves -> Mice & Keyboards",
    "Coffee Makers -> Coffee Beans -> Descalers",
    "Running Shoes -> Running Socks -> Water Bottles",
    "Tents -> Sleeping Bags -> Lanterns",
    "Consoles -> Controllers -> Console Games",
    "Dresses -> Handbags -> Sunglasses",
    "Shampoo -> Conditioner",
)

_NB = 8  # brands per department
_ZIPF = 1.2  # item popularity ~ rank^-_ZIPF (the long tail)
_LATE_SHARE = 0.05  # products launched in the last month


def _split(text: str) -> list[str]:
    return [w.strip() for w in text.split(";") if w.strip()]


@dataclass(frozen=True)
class _Tree:
    """The parsed vocabulary: departments, leaves and chain links, as parallel sequences."""

    depts: tuple[str, ...]
    brands: tuple[tuple[str, ...], ...]  # (D, _NB) names
    levels: np.ndarray  # (D, _NB) price level 0/1/2
    paths: tuple[str, ...]  # (L,) "Dept > Sub > Leaf"
    leaf_dept: np.ndarray  # (L,)
    nouns: tuple[list[str], ...]
    variants: tuple[list[str], ...]
    price_range: np.ndarray  # (L, 2)
    next_leaf: np.ndarray  # (L, 2) leaves that complement a purchase, -1 padded
    refill: np.ndarray  # (L,) bool, consumable


def _parse_tree() -> _Tree:
    depts = tuple(_DEPARTMENTS)
    brand_specs = [[b.split(":") for b in _split(_DEPARTMENTS[d][0])] for d in depts]
    table = re.sub(r"\n[ \t]+", " ", _LEAVES.strip())  # join continued rows
    rows = [[f.strip() for f in line.split("|")] for line in table.splitlines()]
    paths = tuple(r[0] for r in rows)
    leaf_dept = np.array([depts.index(p.split(" > ")[0]) for p in paths])
    names = [p.split(" > ")[-1] for p in paths]
    next_leaf = np.full((len(paths), 2), -1)
    for chain in _CHAINS:
        steps = [[names.index(n.strip()) for n in s.split("|")] for s in chain.split("->")]
        for here, there in zip(steps, steps[1:]):
            next_leaf[here, : len(there)] = there
    return _Tree(
        depts=depts, brands=tuple(tuple(n for n, _ in spec) for spec in brand_specs),
        levels=np.array([[int(lv) for _, lv in spec] for spec in brand_specs]),
        paths=paths, leaf_dept=leaf_dept, nouns=tuple(_split(r[1]) for r in rows),
        variants=tuple(_split(r[3]) or _split(_DEPARTMENTS[depts[d]][3])
                       for r, d in zip(rows, leaf_dept)),
        price_range=np.array([[float(x) for x in r[2].split("-")] for r in rows]),
        next_leaf=next_leaf, refill=np.array([depts[d] in _REFILL_DEPARTMENTS for d in leaf_dept])
        | np.array([n == "Descalers" for n in names]))


_TREE = _parse_tree()


@dataclass(frozen=True)
class _Items:
    """Products as parallel arrays (N,)."""

    leaf: np.ndarray
    brand: np.ndarray  # index within the department, 0.._NB-1
    price: np.ndarray
    attract: np.ndarray  # popularity weight, Zipf-like
    launch: np.ndarray  # seconds after DEMO_START when it goes on sale (0 for most)


def _charm_price(raw: np.ndarray) -> np.ndarray:
    """Shop-like prices: 7.99 below 50, 124.99 below 200, 349.99 above."""
    step = np.where(raw < 50, 1.0, np.where(raw < 200, 5.0, np.where(raw < 1000, 10.0, 50.0)))
    whole = np.where(raw < 50, np.floor(raw) + 1, np.maximum(np.round(raw / step), 1) * step)
    return np.round(whole - 0.01, 2)


def _make_items(rng: np.random.Generator, n_items: int, leaf_w: np.ndarray) -> _Items:
    n_leaves = len(leaf_w)
    per_leaf = 10 + rng.multinomial(n_items - 10 * n_leaves, leaf_w / leaf_w.sum())
    leaf = np.repeat(np.arange(n_leaves), per_leaf)
    brand_w = rng.gamma(2.0, size=(n_leaves, _NB))
    brand = (rng.random(n_items)[:, None] > np.cumsum(
        brand_w / brand_w.sum(1, keepdims=True), 1)[leaf]).sum(1).clip(0, _NB - 1)
    level = _TREE.levels[_TREE.leaf_dept[leaf], brand]
    lo, hi = _TREE.price_range[leaf].T
    raw = lo * (hi / lo) ** ((level + rng.beta(2.0, 2.0, n_items)) / 3)
    attract = (rng.permutation(n_items) + 1.0) ** -_ZIPF
    late = rng.random(n_items) < _LATE_SHARE
    late[np.r_[0, np.cumsum(per_leaf)[:-1]]] = False  # each leaf sells something from day one
    launch_from = int((LAUNCH_FROM - DEMO_START) / np.timedelta64(1, "s"))
    launch = np.where(late, rng.integers(launch_from, _SPAN - 5 * _DAY, n_items), 0)
    attract = np.where(late, attract * 4, attract)  # launches get promoted
    return _Items(leaf, brand, _charm_price(raw), attract, launch)


def _pick(rng: np.random.Generator, options: list[str], n: int) -> np.ndarray:
    """(n,) draws from `options`, or empty strings when there are none."""
    return np.array(options or [""], dtype=object)[rng.integers(0, max(len(options), 1), n)]


def _draw_words(rng: np.random.Generator, items: _Items, tries: int
                ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Title words, `tries` candidates per product ((tries, N) each), and two selling points."""
    n, dept = len(items.leaf), _TREE.leaf_dept[items.leaf]
    cols: dict[str, np.ndarray] = {k: np.empty((tries, n), dtype=object)
                                   for k in ("adj", "model", "noun", "variant")}
    feats = np.empty((2, n), dtype=object)
    for d, name in enumerate(_TREE.depts):
        at = np.flatnonzero(dept == d)
        _, adjs, models, _, features = _DEPARTMENTS[name]
        cols["adj"][:, at] = _pick(rng, _split(adjs), tries * len(at)).reshape(tries, -1)
        cols["model"][:, at] = _pick(rng, _split(models), tries * len(at)).reshape(tries, -1)
        feats[:, at] = rng.permuted(np.tile(_split(features), (len(at), 1)), axis=1)[:, :2].T
    for leaf in np.unique(items.leaf):
        at = np.flatnonzero(items.leaf == leaf)
        for key, words in (("noun", _TREE.nouns[leaf]), ("variant", _TREE.variants[leaf])):
            cols[key][:, at] = _pick(rng, words, tries * len(at)).reshape(tries, -1)
    return cols, feats


def _catalog(rng: np.random.Generator, items: _Items) -> pd.DataFrame:
    """Titles "Brand Adjective Noun [Model] - Variant" (redrawn up to 4 times to avoid clashes)."""
    n, tries, dept = len(items.leaf), 4, _TREE.leaf_dept[items.leaf]
    cols, feats = _draw_words(rng, items, tries)
    titles, descriptions, seen = [], [], set()
    for i in range(n):
        brand = _TREE.brands[dept[i]][items.brand[i]]
        for t in range(tries):
            adj, model, noun, variant = (cols[k][t, i] for k in ("adj", "model", "noun", "variant"))
            title = f"{brand} {adj} {noun}{' ' + model if model else ''} - {variant}"
            if title not in seen:
                break
        seen.add(title)
        titles.append(title)
        tail = ("; great value", "", "; premium materials")[_TREE.levels[dept[i], items.brand[i]]]
        new = NEW_ARRIVAL + " " if items.launch[i] else ""
        descriptions.append(f"{new}{adj} {noun} by {brand}, {variant}. "
                            f"{feats[0, i][0].upper()}{feats[0, i][1:]}; {feats[1, i]}{tail}.")
    return pd.DataFrame({
        S.ITEM: _ids("p", n), S.TITLE: titles, S.DESCRIPTION: descriptions,
        S.CATEGORY: np.array(_TREE.paths, dtype=object)[items.leaf],
        S.BRAND: [_TREE.brands[d][b] for d, b in zip(dept, items.brand)],
        S.PRICE: items.price.astype("float64")})


def _ids(prefix: str, n: int) -> np.ndarray:
    width = max(5, len(str(n - 1)))
    return np.array([f"{prefix}{i:0{width}d}" for i in range(n)], dtype=object)
