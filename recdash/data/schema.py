"""Canonical column names, event types and column-name guessing.

Every table inside recdash uses the names defined here; shops' own names are mapped onto them
once, at the boundary (see `guess_columns`). Constants rather than string literals, so that a
reader can find every use of a column (the RecTools habit).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Interactions.
USER = "user_id"
ITEM = "item_id"
TIME = "timestamp"
EVENT = "event_type"
VALUE = "value"
QUANTITY = "quantity"  # read, never stored: a negative one drops the row, and it fills `value`

# Catalog.
TITLE = "title"
DESCRIPTION = "description"
CATEGORY = "category"
BRAND = "brand"
PRICE = "price"

INTERACTION_REQUIRED = (USER, ITEM)
INTERACTION_OPTIONAL = (TIME, EVENT, VALUE, QUANTITY)
INTERACTION_STORED = (USER, ITEM, TIME, EVENT, VALUE)  # the stored log's columns, in order
CATALOG_REQUIRED = (ITEM,)
CATALOG_OPTIONAL = (TITLE, DESCRIPTION, CATEGORY, BRAND, PRICE)

# Event types, weakest signal first.
VIEW = "view"
CART = "cart"
PURCHASE = "purchase"
EVENT_TYPES = (VIEW, CART, PURCHASE)

# Category paths are stored as "Dept > Sub > Leaf" (see recdash.profile.CATEGORY_SEPARATOR).
CATEGORY_JOIN = " > "

# Shops' own event labels that mean one of ours (lower-cased, punctuation removed).
EVENT_SYNONYMS: dict[str, str] = {
    **{k: VIEW for k in ("view", "views", "click", "clicks", "pageview", "detail", "productview",
                         "impression", "visit", "watch", "rating", "rate", "viewitem",
                         "viewitemlist", "selectitem", "productclick", "productdetailview")},
    **{k: CART for k in ("cart", "addtocart", "addtobasket", "basket", "add", "carts",
                         "wishlist", "addtowishlist", "begincheckout", "addpaymentinfo",
                         "addshippinginfo")},
    **{k: PURCHASE for k in ("purchase", "purchases", "buy", "order", "orders", "transaction",
                             "transactions", "checkout", "sale", "conversion", "review",
                             "ecommercepurchase", "completedorder")},
}

# Names shops and public datasets use for each canonical column, compared after normalising
# (lower case, no spaces/underscores/dashes).
_SYNONYMS: dict[str, tuple[str, ...]] = {
    USER: ("userid", "user", "uid", "reviewerid", "visitorid", "visitor", "customerid", "customer",
           "clientid", "client", "customerno", "customernumber", "userpseudoid", "sessionid",
           "session", "shopperid", "shopper", "buyerid", "accountid"),
    ITEM: ("itemid", "item", "iid", "asin", "productid", "product", "sku", "stockcode",
           "lineitemsku", "productcode", "itemcode", "productsku", "movieid", "articleid",
           "article", "parentasin", "goodsid", "offerid", "contentid"),
    TIME: ("timestamp", "time", "ts", "datetime", "date", "eventtime", "createdat", "unixtime",
           "unixreviewtime", "eventtimestamp", "occurredat", "invoicedate", "orderdate",
           "purchasedate", "transactiondate", "orderdatetime", "eventdate"),
    EVENT: ("eventtype", "event", "action", "behavior", "behaviour", "type", "interaction",
            "interactiontype", "eventname"),
    VALUE: ("value", "rating", "score", "amount", "revenue", "overall"),
    QUANTITY: ("quantity", "qty", "units", "count", "lineitemquantity", "itemquantity",
               "quantityordered", "orderedquantity"),
    # "name" comes after "lineitemname" (a Shopify export's "Name" is the order number), and
    # "description" last: a file without any title column (the Online Retail export has only
    # "Description", a short product name) gets its titles from it.
    TITLE: ("title", "productname", "itemname", "producttitle", "lineitemname", "name",
            "description"),
    DESCRIPTION: ("description", "desc", "details", "text", "productdescription", "summary"),
    CATEGORY: ("category", "categories", "categorycode", "categorypath", "genre", "genres",
               "department", "productcategory", "categoryname", "itemcategory", "producttype"),
    BRAND: ("brand", "brandname", "manufacturer", "maker", "vendor", "itembrand",
            "lineitemvendor"),
    PRICE: ("price", "unitprice", "cost", "listprice", "lineitemprice", "itemprice",
            "saleprice"),
}

# Columns that hold order numbers (not shoppers: one shopper places many orders) and e-mail
# addresses (personal data: never taken as shopper IDs without the analyst saying so).
ORDER_COLUMNS = ("invoiceno", "invoice", "invoicenumber", "invoiceid", "orderid", "ordernumber",
                 "orderno", "order", "transactionid", "receiptno")
EMAIL_COLUMNS = ("email", "emailaddress", "mail", "customeremail", "useremail")


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-.:]+", "", str(name).lower())


@dataclass(frozen=True)
class ColumnGuess:
    """Which of a file's columns was taken for each canonical column, and how.

    Attributes:
        mapping: canonical name -> the file's column name.
        guessed: canonical names whose source was guessed (not given by the caller).
        unused: the file's columns that were not mapped (kept out of the import).
    """

    mapping: dict[str, str]
    guessed: tuple[str, ...] = ()
    unused: tuple[str, ...] = ()

    def describe(self) -> list[str]:
        """Human-readable lines such as "user_id <- 'visitorid' (guessed)"."""
        def how(canon: str, src: str) -> str:
            if canon in self.guessed:
                return " (guessed)"
            return " (same name)" if src == canon else " (given)"
        return [f"{canon} <- '{src}'{how(canon, src)}" for canon, src in self.mapping.items()]


def guess_columns(columns: list[str], wanted: tuple[str, ...],
                  given: dict[str, str] | None = None) -> ColumnGuess:
    """Map a file's columns onto canonical names.

    Args:
        columns: the file's column names, in file order.
        wanted: the canonical names to look for (e.g. INTERACTION_REQUIRED + INTERACTION_OPTIONAL).
        given: mapping the caller fixed (canonical -> file column); it wins over guesses.

    Returns:
        A ColumnGuess; canonical names with no match are simply absent from `mapping`.

    Raises:
        KeyError: a given column is not in the file (message lists the file's columns).
    """
    given = dict(given or {})
    for canon, src in given.items():
        if src not in columns:
            raise KeyError(f"column '{src}' given for {canon} is not in the file; "
                           f"the file has: {', '.join(map(str, columns))}")
    mapping: dict[str, str] = {c: s for c, s in given.items() if c in wanted}
    taken = set(mapping.values())
    guessed: list[str] = []
    normed = {col: _norm(col) for col in columns}
    for canon in wanted:
        if canon in mapping:
            continue
        # Exact canonical name first, then synonyms in order of preference.
        for candidate in (_norm(canon), *_SYNONYMS.get(canon, ())):
            match = next((c for c in columns if normed[c] == candidate and c not in taken), None)
            if match is not None:
                mapping[canon] = match
                taken.add(match)
                if str(match) != canon:
                    guessed.append(canon)
                break
    unused = tuple(str(c) for c in columns if c not in taken)
    ordered = {c: mapping[c] for c in wanted if c in mapping}
    return ColumnGuess(mapping=ordered, guessed=tuple(guessed), unused=unused)


def normalise_event_label(label: object) -> str | None:
    """Our event type for a shop's label, or None when it is not recognised."""
    return EVENT_SYNONYMS.get(_norm(str(label)))


def columns_like(columns: list[str], names: tuple[str, ...]) -> list[str]:
    """The columns whose normalised name is one of `names` (e.g. ORDER_COLUMNS), in file order."""
    return [str(c) for c in columns if _norm(c) in names]


@dataclass(frozen=True)
class ColumnMapping:
    """Caller-given column names for one import (canonical -> the shop's column).

    Attributes:
        interactions: mapping for the interaction log; missing entries are guessed. It may also
            name the log's own catalog columns (title, description, category, brand, price),
            which then complete the catalog.
        catalog: mapping for the product catalog; missing entries are guessed.
        events: the shop's event labels -> view / cart / purchase, beside the built-in synonyms.
    """

    interactions: dict[str, str] = field(default_factory=dict)
    catalog: dict[str, str] = field(default_factory=dict)
    events: dict[str, str] = field(default_factory=dict)
