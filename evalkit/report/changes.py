"""The "Changes between runs" section: the latest comparison of each API (evalkit compare),
with the flipped images as thumbnails (old answer, new answer)."""
from __future__ import annotations

from ..artifacts import read_json


def collect_changes(ws, images, guard, max_thumbs: int = 40) -> list[dict]:
    """One entry per API with a recorded comparison (catalog kind ``comparison``), by API name.
    ``images``: the report's PoolImages (thumbnails when a dataset was given); ``guard(what)``:
    the report's context manager that turns an unreadable artifact into a listed problem."""
    from ..drift import COMPARISON

    out = []
    for art in ws.catalog.list(COMPARISON):
        with guard(f"comparison {art.key}"):
            doc = read_json(ws.abspath(art), "comparison")
            flipped = [{**f, "thumb": images.thumb(int(f["index"]))} for f in doc.get("flipped", [])[:max_thumbs]]
            out.append({**doc, "flipped": flipped,
                        "sets": [{**s, "flip_rate": s["flips"]["rate"]} for s in doc["sets"]]})
    return sorted(out, key=lambda d: d["api"])
