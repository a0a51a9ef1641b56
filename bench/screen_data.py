"""Deterministic order books for ``earlog screen``: a context scenario and N transactions.

Run: python bench/screen_data.py OUT_DIR --rows 10000 [--format csv|jsonl] [--seed 7]
     [--shuffle 0.0]

The mix: Tier 1, Tier 2 and Tier 3 destinations (with Hong Kong and Macau); consignees
owned by US, PRC and local parents, some through a holding company; a few Data Center
VEU holders (one US-headquartered universal VEU in India) and state-owned buyers; datacenter GPUs, servers, a 3A090.b part, an
unclassifiable workstation card and an EAR99 item; model weights (frontier, published,
below the threshold); exports, reexports, in-country transfers and deemed exports; dates
over 2025-2026 (a few before the rule took effect). Repeat consignees buy small lots
often, so LPP accumulates and runs out within a calendar year.

Rows come out in date order (an export log), except a ``--shuffle`` fraction of rows
swapped with a random other row, to exercise out-of-order handling.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import random
from pathlib import Path
from typing import Any, Iterator

__all__ = ["COLUMNS", "context_yaml", "rows", "write_context", "write_rows"]

COLUMNS = ("id", "type", "date", "exporter", "from", "to", "ultimate_consignee", "item",
           "model", "quantity", "end_use", "final_destination")

TIER1 = ("DE", "FR", "JP", "GB", "NL", "KR", "TW", "AU", "CA", "IE", "SE", "ES")
TIER2 = ("SG", "IN", "BR", "MY", "AE", "SA", "IL", "MX", "TH", "VN", "ID", "PL", "CH",
         "TR", "ZA", "AR")
TIER3 = ("CN", "MO", "HK")

# items: (id, eccn, tpp_per_unit, datacenter, designer, extra YAML)
ITEMS = (
    ("h100", "3A090.a", 15832, "true", "approved", ""),
    ("b200_server", "4A090.a", 288000, "true", "approved", ""),
    ("l40s", "3A090.a", 5800, "true", "authorized", ""),
    ("mid_gpu", "3A090.b", 2900, "true", "approved", ", performance_density: 2.0"),
    ("workstation", "3A090.a", 3000, "false", "approved", ""),
    ("nic", "EAR99", None, None, None, ""),
)
ITEM_WEIGHTS = (50, 8, 20, 10, 2, 5)
MODELS = """\
  frontier: {training_operations: 3.0e26, published: false, trained_on_ear_hardware: true,
             below_best_published: false, produced_in: US}
  open_base: {training_operations: 1e26, published: true, trained_on_ear_hardware: true}
  small: {training_operations: 5e25, published: false, trained_on_ear_hardware: true}
"""

START = dt.date(2025, 1, 1)
DAYS = 730


def _consignees(rnd: random.Random, n: int) -> list[dict[str, Any]]:
    """``n`` consignees with locations, headquarters, parents, VEUs and ownership."""
    out: list[dict[str, Any]] = [
        {"id": "cn_group", "located_in": "CN", "headquartered_in": "CN"},
        {"id": "cn_holding_sg", "located_in": "SG", "headquartered_in": "SG", "parent": "cn_group"},
        {"id": "us_hyperscaler", "located_in": "US", "headquartered_in": "US"},
    ]
    for k in range(n):
        r = rnd.random()
        tier = TIER1 if r < 0.3 else (TIER2 if r < 0.85 else TIER3)
        country = rnd.choice(tier)
        e: dict[str, Any] = {"id": f"c{k:04d}", "located_in": country, "headquartered_in": country}
        p = rnd.random()
        if tier is TIER2 and p < 0.12:
            e["parent"] = "cn_group"
        elif tier is TIER2 and p < 0.18:
            e["parent"] = "cn_holding_sg"
        elif p < 0.28:
            e["parent"] = "us_hyperscaler"
        v = rnd.random()
        if tier is TIER2 and v < 0.05:
            e["veu"] = "{type: uveu}"
        elif tier is TIER2 and v < 0.10:
            e["veu"] = f"{{type: nveu, country: {country}}}"
        if rnd.random() < 0.05:
            e["government_controlled"] = "true"
        if rnd.random() < 0.3:
            e["weights_storage_compliant"] = rnd.choice(("true", "false"))
        out.append(e)
    # a US-headquartered data center abroad holding a universal VEU (748.15(b)(2)(i))
    out.append({"id": "us_dc_in", "located_in": "IN", "headquartered_in": "US",
                "veu": "{type: uveu}"})
    return out


def context_yaml(consignees: int = 300, seed: int = 7) -> str:
    """The context scenario (no transactions) the generated rows refer to."""
    rnd = random.Random(seed)
    lines = [
        "scenario: bench-order-book",
        "description: generated order book context for earlog screen benchmarks",
        "regime: ifr",
        "entities:",
        "  nvidia_us: {located_in: US, headquartered_in: US}",
        "  amd_us: {located_in: US, headquartered_in: US}",
        "  sg_distributor: {located_in: SG, headquartered_in: SG}",
        "  tw_odm: {located_in: TW, headquartered_in: TW}",
    ]
    for e in _consignees(rnd, consignees):
        fields = [f"{k}: {v}" for k, v in e.items() if k != "id"]
        lines.append(f"  {e['id']}: {{{', '.join(fields)}}}")
    lines.append("items:")
    for iid, eccn, tpp, dc, designer, extra in ITEMS:
        fields = [f"eccn: {eccn}"]
        if tpp is not None:
            fields.append(f"tpp_per_unit: {tpp}")
        if dc is not None:
            fields.append(f"datacenter: {dc}")
        if designer is not None:
            fields.append(f"designer: {designer}")
        lines.append(f"  {iid}: {{{', '.join(fields)}{extra}}}")
    lines.append("models:")
    lines.append(MODELS.rstrip("\n"))
    lines += ["history:", "  lpp_tpp_by_consignee:", "    c0001: {2025: 20_000_000}",
              "  licensed_tpp_by_country:", "    SG: 120_000_000", "    IN: 800_000_000"]
    return "\n".join(lines) + "\n"


def rows(n: int, consignees: int = 300, seed: int = 7, shuffle: float = 0.0) -> Iterator[dict[str, Any]]:
    """``n`` transaction rows (CSV text cells: empty = null), in date order except
    a ``shuffle`` fraction. Memory: O(n) only when shuffling; else generated in order."""
    ctx = random.Random(seed)
    people = _consignees(ctx, consignees)
    rnd = random.Random(seed + 1)
    # a quarter of the consignees are regulars that buy small lots all year (LPP)
    regulars = [e for e in people[3:] if rnd.random() < 0.25] or people[3:] or people
    item_ids = [i[0] for i in ITEMS]

    def one(k: int, day: int) -> dict[str, Any]:
        buyer = rnd.choice(regulars) if rnd.random() < 0.6 else rnd.choice(people)
        date = START + dt.timedelta(days=day)
        kind = rnd.random()
        tx: dict[str, Any] = dict.fromkeys(COLUMNS, "")
        tx.update(id=f"tx{k:07d}", date=date.isoformat(), ultimate_consignee=buyer["id"],
                  to=buyer["located_in"])
        if kind < 0.80:
            tx.update(type="export", exporter=rnd.choice(("nvidia_us", "amd_us")), **{"from": "US"})
        elif kind < 0.90:
            tx.update(type="reexport", exporter=rnd.choice(("sg_distributor", "tw_odm")),
                      **{"from": rnd.choice(("SG", "TW"))})
        elif kind < 0.95:
            tx.update(type="transfer_in_country", exporter=buyer["id"], **{"from": buyer["located_in"]})
        else:
            tx.update(type="deemed_export", exporter="us_hyperscaler", **{"from": "US"})
        # an export or reexport crosses a border (scenario validation rejects one that does not)
        if tx["type"] == "export" and tx["to"] == "US":
            tx["type"] = "transfer_in_country"
        elif tx["type"] == "reexport" and tx["from"] == tx["to"]:
            tx["from"] = "TW" if tx["from"] == "SG" else "SG"
        if rnd.random() < 0.04 and tx["type"] != "deemed_export":
            tx["model"] = rnd.choice(("frontier", "open_base", "small"))
            tx["end_use"] = "other"
            return tx
        tx["item"] = rnd.choices(item_ids, ITEM_WEIGHTS)[0]
        small = buyer in regulars and rnd.random() < 0.8
        tx["quantity"] = str(rnd.randint(10, 300) if small else rnd.choice((500, 1000, 4000, 20000)))
        use = rnd.random()
        if use < 0.75:
            tx["end_use"] = rnd.choice(("inference", "training"))
        else:
            tx["end_use"] = rnd.choice(("development", "production", "storage"))
            if rnd.random() < 0.7:
                tx["final_destination"] = rnd.choice(TIER1 + TIER2 + ("CN",))
        return tx

    days = sorted(rnd.randrange(DAYS) for _ in range(n)) if n else []
    if shuffle <= 0:
        for k, day in enumerate(days):
            yield one(k, day)
        return
    out = [one(k, day) for k, day in enumerate(days)]
    for _ in range(int(n * shuffle)):
        a, b = rnd.randrange(n), rnd.randrange(n)
        out[a], out[b] = out[b], out[a]
    yield from out


def write_context(path: Path, consignees: int = 300, seed: int = 7) -> Path:
    """Write the context YAML to ``path``."""
    path.write_text(context_yaml(consignees, seed), encoding="utf-8")
    return path


def write_rows(path: Path, n: int, fmt: str = "csv", consignees: int = 300, seed: int = 7,
               shuffle: float = 0.0) -> Path:
    """Write ``n`` rows as CSV (header = COLUMNS) or JSONL (null for empty cells)."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        if fmt == "csv":
            w = csv.DictWriter(fh, COLUMNS)
            w.writeheader()
            for row in rows(n, consignees, seed, shuffle):
                w.writerow(row)
        else:
            for row in rows(n, consignees, seed, shuffle):
                obj = {k: (None if v == "" else v) for k, v in row.items()}
                if obj["quantity"] is not None:
                    obj["quantity"] = int(obj["quantity"])
                fh.write(json.dumps(obj) + "\n")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--consignees", type=int, default=300)
    ap.add_argument("--shuffle", type=float, default=0.0)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    ctx = write_context(args.out / "context.yaml", args.consignees, args.seed)
    data = write_rows(args.out / f"orders-{args.rows}.{args.format}", args.rows, args.format,
                      args.consignees, args.seed, args.shuffle)
    print(ctx)
    print(data)


if __name__ == "__main__":
    main()
