"""A small catalog where the right result for each query is known, and a log over it."""

from __future__ import annotations

import pandas as pd

from recdash.data import schema as S

PRODUCTS = [
    # item_id, title, category, brand, price
    ("p01", "Zentro Echo Wireless Mouse - Black", "Electronics > Computers > Mice", "Zentro", 25.0),
    ("p02", "Lumio Arc Wireless Mouse - Silver", "Electronics > Computers > Mice", "Lumio", 30.0),
    ("p03", "Voltix RX580 Graphics Card 8GB", "Electronics > Computers > Components", "Voltix",
     200.0),
    ("p04", "Voltix RX570 Graphics Card 4GB", "Electronics > Computers > Components", "Voltix",
     150.0),
    ("p05", "Pixora Noise-Cancelling Headphones", "Electronics > Audio > Headphones", "Pixora",
     120.0),
    ("p06", "Brightline Over-Ear Headphones", "Electronics > Audio > Headphones", "Brightline",
     80.0),
    ("p07", "Running Shoes for Men - Size 42", "Sports > Shoes", "Stride", 60.0),
    ("p08", "Trail Sneakers - Size 44", "Sports > Shoes", "Stride", 70.0),
    ("p09", "Stainless Steel Kettle 1.5L", "Home > Kitchen", "Kettly", 40.0),
    ("p10", "Espresso Coffee Machine", "Home > Kitchen", "Brewmaster", 300.0),
    ("p11", "Cotton T-Shirt Blue", "Fashion > Tops", "Weaveco", 15.0),
    ("p12", "Yoga Mat Non-Slip", "Sports > Fitness", "Stride", 25.0),
]


def catalog() -> pd.DataFrame:
    return pd.DataFrame(PRODUCTS, columns=[S.ITEM, S.TITLE, S.CATEGORY, S.BRAND, S.PRICE])


def log() -> pd.DataFrame:
    """Two tastes: audio shoppers (a*) buy a Zentro mouse, then headphones; sport shoppers (s*)
    buy shoes and a mat; other shoppers (o*) buy one of the rest with the Zentro mouse, so
    every product has events."""
    rows = []
    for u in range(30):
        for item in ("p01", "p05", "p06", "p05", "p06"):
            rows.append((f"a{u:02d}", item))
        for item in ("p07", "p08", "p12", "p07"):
            rows.append((f"s{u:02d}", item))
    for u, item in enumerate(["p02", "p03", "p04", "p09", "p10", "p11"] * 3):
        rows.append((f"o{u:02d}", item))
        rows.append((f"o{u:02d}", "p01"))
    frame = pd.DataFrame(rows, columns=[S.USER, S.ITEM])
    frame[S.TIME] = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(
        range(len(frame)), unit="min")
    return frame
