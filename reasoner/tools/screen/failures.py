"""Why every rule for an exception fails, for many transactions at once: the failure search
of ``ruledout.RuledOutFinder`` (``_best_failure``, ``_rank``, ``_decisive``) in SQL."""

# A goal is a predicate and a pattern (values, or None for "any"), e.g. candidate(tx7,
# "ACM"). Goals of one shape (predicate, bound positions) share a table of their values;
# goals are deduplicated, so a sub-goal such as tier1("SG") is searched once for the
# whole book. For each goal and each rule whose head takes it (rule order):
#
#   attempt   the body in ``written_order`` with the head bound, one SQL table per
#             condition: the partial matches ("frontier") that extend the previous ones,
#             at most 64 per goal, ordered by the rows they matched (the finder's
#             frontier order: sorted rows, depth first). The goal's failure is the last
#             condition reached (k conditions held), with the frontier's first match.
#   descend   when that condition is a positive derived atom with no row for its
#             instantiated pattern, the pattern is a new goal (``_derived_failure``).
#   rank      (not other_kind, k): other_kind when the failure, followed down at most four
#             times through its goals' best failures, stops at an input atom for which its
#             first value has no row at all (a rule written for another kind of
#             transaction). A goal's best failure is the first rule of highest rank.
#   decisive  the uncertainty marks of what decides a failure (``_decisive``): the first
#             blocker of a failing negation, or the first three facts stated instead of a
#             failing atom (``_contrary``: the last bound position unbound, scenario
#             facts only, in repr order).
#
# For a ruled-out code: citation = the best failure's rule's; raised = the decisive
# marks of the fourth failure down the chain (or the last one, when shorter).

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

from reasoner.engine.matching import assigned_var, written_order
from reasoner.engine.sql.compiler import (BodyCompiler, BodyScope, SqlProgram, compare_sql,
                                          table_name)
from reasoner.lang.checks import CheckedProgram
from reasoner.lang.errors import EngineError
from reasoner.lang.ir import Aggregate, Atom, Call, Comparison, Const, Literal, Rule, Var, variables
from reasoner.tools.screen.basis import BasisMarks, words_of
from reasoner.tools.screen.staging import quote_ident

__all__ = ["explain", "PARTIAL_CAP", "DEPTH"]

Execute = Callable[[str], list[tuple[Any, ...]]]

# As ``ruledout``: partial matches kept per condition; failures followed down.
PARTIAL_CAP = 64
DEPTH = 4
# Rounds of new sub-goals before giving up (a rulebook whose failures recurse).
_MAX_ROUNDS = 50


@dataclass(frozen=True, slots=True)
class _Shape:
    """Goals of one predicate with values at ``bound`` positions; ``sid`` names its tables."""

    sid: int
    pred: str
    bound: tuple[int, ...]


class _Symbols(Mapping[str, int]):
    """Symbol ids of strings, looked up on demand (for the compiler's constants)."""

    def __init__(self, lit: Callable[[str], str]) -> None:
        self.lit = lit

    def __getitem__(self, key: str) -> int:
        return int(self.lit(key))

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def explain(execute: Execute, sql: SqlProgram, checked: CheckedProgram, marks: BasisMarks,
            lit: Callable[[str], str]) -> None:
    """Add to table ``ruled`` an entry for every row of ``failing(tx, code, name, k)``: the
    citation of its best failing candidate rule and the uncertainties its decisive facts
    raise."""
    search = _Search(execute, sql, checked, marks, lit)
    try:
        search.run()
    finally:
        search.drop()


class _Search:
    def __init__(self, execute: Execute, sql: SqlProgram, checked: CheckedProgram,
                 marks: BasisMarks, lit: Callable[[str], str]) -> None:
        self.ex = execute
        self.sql = sql
        self.checked = checked
        self.lit = lit
        self.comp = BodyCompiler(checked, sql.kinds, sql.dialect, None, 0, _Symbols(lit))
        self.rules: dict[str, list[tuple[int, Rule]]] = {}
        for i, r in enumerate(checked.rules):
            self.rules.setdefault(r.head.pred, []).append((i, r))
        self.shapes: dict[tuple[str, tuple[int, ...]], _Shape] = {}
        self.uncertain = _uncertain_preds(checked)
        self.pending: dict[_Shape, list[str]] = {}
        self.next_gid = 0
        self.batches = 0
        self.failed: set[int] = set()  # shapes with a table of failures
        self.fail_columns = ""
        self.tables: list[str] = []
        self.ms = [f"m{w}" for w in range(sql.words)]
        self.unc = words_of(marks.uncertain_mask, sql.words)
        self.s_words = words_of(1 << marks.scenario, sql.words)

    # -- tables ---------------------------------------------------------------------------

    def table(self, name: str) -> str:
        if name not in self.tables:
            self.tables.append(name)
        return name

    def drop(self) -> None:
        self.ex("DROP VIEW IF EXISTS fails")
        for name in reversed(self.tables):
            self.ex(f"DROP TABLE IF EXISTS {name}")

    def col_type(self, pred: str, pos: int) -> str:
        return self.sql.col_type(self.sql.kinds[pred][pos])

    def shape(self, pred: str, bound: tuple[int, ...]) -> _Shape:
        got = self.shapes.get((pred, bound))
        if got is None:
            got = self.shapes[(pred, bound)] = _Shape(len(self.shapes), pred, bound)
            cols = ", ".join(["gid BIGINT"] + [f"v{p} {self.col_type(pred, p)}" for p in bound])
            self.ex(f"CREATE TABLE {self.table(f'gv{got.sid}')} ({cols})")
        return got

    def register(self, shape: _Shape, source: str) -> str:
        """Give the new patterns of ``source`` (columns v<pos>) goal ids; return a table
        of the new goals (to search) and keep them in the shape's table."""
        vs = [f"v{p}" for p in shape.bound]
        on = " AND ".join(f"g.{v} IS NOT DISTINCT FROM s.{v}" for v in vs) or "TRUE"
        self.batches += 1
        batch = self.table(f"gb{shape.sid}_{self.batches}")
        self.ex(f"""CREATE TABLE {batch} AS
            SELECT CAST({self.next_gid} + row_number() OVER () - 1 AS BIGINT) AS gid, {', '.join(vs) or '1 AS one'}
            FROM (SELECT DISTINCT {', '.join(vs) or '1 AS one'} FROM {source} s
                  WHERE NOT EXISTS (SELECT 1 FROM gv{shape.sid} g WHERE {on})) n""")
        count = self.ex(f"SELECT COUNT(*) FROM {batch}")[0][0]
        self.next_gid += int(count)
        if vs:
            self.ex(f"INSERT INTO gv{shape.sid} SELECT gid, {', '.join(vs)} FROM {batch}")
        else:
            self.ex(f"INSERT INTO gv{shape.sid} SELECT gid FROM {batch}")
        self.ex(f"INSERT INTO goals SELECT gid, {shape.sid} FROM {batch}")
        if count:
            self.pending.setdefault(shape, []).append(batch)
        else:
            self.ex(f"DROP TABLE {batch}")
            self.tables.remove(batch)
        return batch

    # -- the search ---------------------------------------------------------------------------

    def run(self) -> None:
        ex = self.ex
        ms = self.ms
        dr = ", ".join(f"dr{w} BIGINT" for w in range(len(ms)))
        self.fail_columns = (f"gid BIGINT, rule INTEGER, k INTEGER, sub BIGINT, "
                             f"ok_self BOOLEAN, {dr}, sid INTEGER")
        ex(f"CREATE TABLE {self.table('goals')} (gid BIGINT, sid INTEGER)")
        top = self.shape("candidate", (0, 1))
        ex(f"CREATE TABLE {self.table('top_src')} AS SELECT DISTINCT tx AS v0, code AS v1 "
           "FROM failing")
        self.register(top, "top_src")
        n_top = self.next_gid  # the top goals are gids 0 .. n_top - 1
        rounds = 0
        while self.pending:
            rounds += 1
            if rounds > _MAX_ROUNDS * 10:
                raise EngineError("the search for why exceptions fail did not end",
                                  hint="screen with --engine earlog")
            shape = next(iter(self.pending))
            batches = self.pending.pop(shape)
            batch = batches[0]
            if len(batches) > 1:
                for other in batches[1:]:
                    ex(f"INSERT INTO {batch} SELECT * FROM {other}")
                    ex(f"DROP TABLE {other}")
                    self.tables.remove(other)
            for index, rule in self.rules.get(shape.pred, []):
                self.attempt(shape, batch, index, rule)
            ex(f"DROP TABLE {batch}")
            self.tables.remove(batch)
        # every shape's failures in a table of its own; ``fails``: all of them
        ex(f"CREATE TABLE {self.table('fails_none')} ({self.fail_columns})")
        union = " UNION ALL ".join(f"SELECT * FROM {t}" for t in
                                   ["fails_none", *(f"fails{sid}" for sid in sorted(self.failed))])
        ex(f"CREATE VIEW fails AS {union}")
        # the top goals are the bulk: ranked once, at the end, unless some failure below
        # leads back to one of them
        back = ex(f"SELECT COUNT(*) FROM fails WHERE sub < {n_top}")[0][0]
        self.rank(n_top if not back else 0)
        self.finish(top, n_top if not back else 0)

    def attempt(self, shape: _Shape, batch: str, index: int, rule: Rule) -> None:
        """Record in ``fails`` where ``rule`` stops for each goal of ``batch``."""
        head = rule.head
        kinds = self.sql.kinds
        env: dict[str, str] = {}
        env_kinds: dict[str, str | None] = {}
        where: list[str] = []
        checks: list[Comparison] = []
        for pos, arg in enumerate(head.args):
            if pos not in shape.bound:
                continue
            want, wkind = f"g.v{pos}", kinds[head.pred][pos]
            if isinstance(arg, Var) and not arg.anonymous:
                if arg.name in env:
                    where.append(compare_sql("=", env[arg.name], env_kinds[arg.name], want, wkind))
                else:
                    env[arg.name], env_kinds[arg.name] = want, wkind
            elif isinstance(arg, Const):
                expr, kind = self.comp.term(arg, BodyScope([], [], {}, {}))
                where.append(compare_sql("=", expr, kind, want, wkind))
            elif isinstance(arg, Call):
                name = f"#head{pos}"
                env[name], env_kinds[name] = want, wkind
                checks.append(Comparison("=", arg, Var(name, arg.span), arg.span))
        body = rule.body + tuple(checks)
        order = written_order(body, set(env))
        cond = f" WHERE {' AND '.join(where)}" if where else ""
        many = self.paths(shape, batch, index, body, order, env, env_kinds, cond)
        if many is not None:  # goals with more partial matches than the finder keeps
            self.levels(shape, many, index, body, order, env, env_kinds, cond)

    def paths(self, shape: _Shape, batch: str, index: int, body: tuple[Any, ...],
              order: Sequence[int], env: Mapping[str, str],
              env_kinds: Mapping[str, str | None], cond: str) -> str | None:
        """Every goal's partial matches in one statement: a chain of lateral joins, one per
        condition (NULL from the first that fails), one row per path. Records the
        failures of the goals with at most ``PARTIAL_CAP`` paths (then every frontier the
        finder builds is whole); returns a table of the others' goals, or None."""
        bound = dict(env_kinds)
        refs = dict(env)
        keys: list[str] = []
        laterals: list[str] = []
        levels: list[tuple[dict[str, str | None], list[str]]] = []
        for j, i in enumerate(order):
            levels.append((dict(bound), list(keys)))
            sub, new, key = self.lateral(body[i], bound, refs, j)
            laterals.append(f"LEFT JOIN LATERAL ({sub}) l{j} ON TRUE")
            for name, kind in new.items():
                refs[name], bound[name] = f"l{j}.{_v(name)}", kind
            if key is not None:
                keys.append(key)
        n = len(order)
        depth = ("CASE " + " ".join(f"WHEN l{j}.ok IS NULL THEN {j}" for j in range(n))
                 + f" ELSE {n} END") if n else "0"
        cols = ["g.gid", f"{depth} AS depth"] + [f"{r} AS {_v(v)}" for v, r in refs.items()] \
            + [f"l{k[1:].split('_')[0]}.{k} AS {k}" for k in keys]
        att = self.table("att")
        self.ex(f"DROP TABLE IF EXISTS {att}")
        self.ex(f"CREATE TABLE {att} AS SELECT {', '.join(cols)} FROM {batch} g "
                f"{' '.join(laterals)}{cond}")
        counts = self.ex(f"SELECT max(c) FROM (SELECT COUNT(*) AS c FROM {att} GROUP BY gid)")
        many = None
        if counts and counts[0][0] is not None and counts[0][0] > PARTIAL_CAP:
            many = self.table(f"many{shape.sid}")
            self.ex(f"DROP TABLE IF EXISTS {many}")
            self.ex(f"CREATE TABLE {many} AS SELECT * FROM {batch} WHERE gid IN (SELECT gid "
                    f"FROM {att} GROUP BY gid HAVING COUNT(*) > {PARTIAL_CAP})")
            self.ex(f"DELETE FROM {att} WHERE gid IN (SELECT gid FROM {many})")
        first = self.table("first_p")
        self.ex(f"DROP TABLE IF EXISTS {first}")
        order_keys = "".join(f", {k}" for k in keys)
        if counts and counts[0][0] is not None and counts[0][0] <= 1:  # one path per goal
            self.ex(f"CREATE TABLE {first} AS SELECT * FROM {att} WHERE depth < {n}")
        else:
            self.ex(f"""CREATE TABLE {first} AS SELECT * EXCLUDE (rn) FROM (
                SELECT a.*, row_number() OVER (PARTITION BY a.gid
                    ORDER BY a.depth DESC{order_keys}) AS rn FROM {att} a)
                WHERE rn = 1 AND depth < {n}""")
        self.ex(f"DROP TABLE {att}")
        for (k,) in self.ex(f"SELECT DISTINCT depth FROM {first} ORDER BY depth"):
            at_depth = f"(SELECT * FROM {first} WHERE depth = {int(k)})"
            self.record(at_depth, shape.sid, index, body, int(k), order[k], levels[k][0])
        self.ex(f"DROP TABLE {first}")
        return many

    def lateral(self, item: Any, bound: Mapping[str, str | None], refs: Mapping[str, str],
                j: int) -> tuple[str, dict[str, str | None], str | None]:
        """The lateral subquery extending a path by ``item`` (no row when it fails or an
        earlier condition did): its SQL, the variables it binds, its order key column."""
        scope = BodyScope([], [], dict(refs), dict(bound), None)
        key = None
        fail = not self.compile_item(item, scope, set(bound))
        cols = ["TRUE AS ok"]
        new = {n: scope.kinds.get(n) for n in scope.env if n not in bound}
        cols += [f"{scope.env[n]} AS {_v(n)}" for n in new]
        if isinstance(item, Literal) and not item.negated and not fail:
            alias = scope.tables[-1].split()[-1]
            arity = self.sql.arity[item.atom.pred]
            if arity:
                key = f"k{j}_"
                cols.append(f"ROW({', '.join(f'{alias}.c{c}' for c in range(arity))}) AS {key}")
        where = list(scope.where) + (["FALSE"] if fail else [])
        if j:
            where.append(f"l{j - 1}.ok")
        sql = f"SELECT {', '.join(cols)}"
        if scope.tables:
            sql += f" FROM {', '.join(scope.tables)}"
        if where:
            sql += f" WHERE {' AND '.join(where)}"
        return sql, new, key

    def compile_item(self, item: Any, scope: BodyScope, bound: set[str]) -> bool:
        """Add ``item``'s tables, conditions and bindings to ``scope``, as ``matching.step``
        evaluates it; False when it cannot hold (an expression over an unbound variable)."""
        if isinstance(item, Literal) and not item.negated:
            if any(not isinstance(a, Var) and not variables(a) <= bound for a in item.atom.args):
                return False
            self.comp.positive(item.atom, scope, None)
        elif isinstance(item, Literal):
            if all(isinstance(a, Var) or variables(a) <= bound for a in item.atom.args):
                scope.where.append(self.comp.negation(item.atom, (), scope))
        elif isinstance(item, Comparison):
            if assigned_var(item, bound) is None and not variables(item) <= bound:
                return False
            self.comp.comparison(item, scope)
        elif isinstance(item, Aggregate):
            if not variables(item) - _inner(item) <= bound:
                return False
            self.comp.aggregate(item, 0, (item,), scope, None)
        return True

    def levels(self, shape: _Shape, batch: str, index: int, body: tuple[Any, ...],
               order: Sequence[int], env: Mapping[str, str],
               env_kinds: Mapping[str, str | None], cond: str) -> None:
        """The failures of ``batch``'s goals condition by condition, each frontier cut to
        its first ``PARTIAL_CAP`` partial matches (as the finder builds it)."""
        level = self.table(f"lv_{shape.sid}_{index}_0")
        self.ex(f"DROP TABLE IF EXISTS {level}")
        cols = ", ".join(f"{e} AS {_v(n)}" for n, e in env.items())
        self.ex(f"CREATE TABLE {level} AS SELECT g.gid{', ' + cols if cols else ''} FROM {batch} g"
                + cond)
        bound = dict(env_kinds)
        keys: list[str] = []
        for j, i in enumerate(order):
            nxt = self.table(f"lv_{shape.sid}_{index}_{j + 1}")
            self.ex(f"DROP TABLE IF EXISTS {nxt}")
            before, held = dict(bound), list(keys)
            key = self.step(level, nxt, body[i], bound, keys, j)
            if key is not None:
                keys.append(key)
                self.cap(nxt, keys)
            self.stuck(level, nxt, held, shape.sid, index, body, j, i, before)
            self.ex(f"DROP TABLE {level}")
            level = nxt
        self.ex(f"DROP TABLE {level}")

    def step(self, level: str, nxt: str, item: Any, bound: dict[str, str | None],
             keys: list[str], j: int) -> str | None:
        """Table ``nxt``: the extensions of ``level``'s partial matches by ``item``; updates
        ``bound``; returns the name of the new order key column (a positive atom's row)."""
        scope = BodyScope([], [], {n: f"L.{_v(n)}" for n in bound}, dict(bound), None)
        carry = ", ".join(f"L.{k}" for k in keys)
        key = None
        fail = not self.compile_item(item, scope, set(bound))
        if isinstance(item, Literal) and not item.negated and not fail:
            alias = scope.tables[-1].split()[-1]
            n = self.sql.arity[item.atom.pred]
            if n:
                key = f"k{j}_"
                scope_key = f"ROW({', '.join(f'{alias}.c{c}' for c in range(n))}) AS {key}"
        new = {n: scope.kinds.get(n) for n in scope.env if n not in bound}
        cols = ["L.gid"] + ([carry] if carry else []) \
            + [f"{scope.env[n]} AS {_v(n)}" for n in [*bound, *new]]
        if key is not None:
            cols.append(scope_key)
        tables = [f"{level} L", *scope.tables]
        where = list(scope.where) + (["FALSE"] if fail else [])
        self.ex(f"CREATE TABLE {nxt} AS SELECT {', '.join(cols)} FROM {', '.join(tables)}"
                + (f" WHERE {' AND '.join(where)}" if where else ""))
        bound.update(new)
        return key

    def cap(self, table: str, keys: Sequence[str]) -> None:
        """At most ``PARTIAL_CAP`` partial matches per goal, the first in frontier order."""
        if not keys:
            return
        most = self.ex(f"SELECT max(n) FROM (SELECT COUNT(*) AS n FROM {table} GROUP BY gid)")
        if not most or most[0][0] is None or most[0][0] <= PARTIAL_CAP:
            return
        tmp = table + "_c"
        self.ex(f"""CREATE TABLE {tmp} AS SELECT * EXCLUDE (rn) FROM (
            SELECT *, row_number() OVER (PARTITION BY gid ORDER BY {', '.join(keys)}) AS rn
            FROM {table}) WHERE rn <= {PARTIAL_CAP}""")
        self.ex(f"DROP TABLE {table}")
        self.ex(f"ALTER TABLE {tmp} RENAME TO {table}")

    def stuck(self, level: str, nxt: str, keys: Sequence[str], sid: int, index: int,
              body: tuple[Any, ...], k: int, at: int, bound: dict[str, str | None]) -> None:
        """The goals of ``level`` with no extension in ``nxt`` fail at condition ``at``
        (``k`` held): record their failure, with its sub-goal and decisive marks."""
        order = ", ".join(keys) if keys else "gid"
        first = self.table("first_m")
        self.ex(f"DROP TABLE IF EXISTS {first}")
        self.ex(f"""CREATE TABLE {first} AS SELECT * EXCLUDE (rn) FROM (
            SELECT L.*, row_number() OVER (PARTITION BY L.gid ORDER BY {order}) AS rn
            FROM {level} L WHERE NOT EXISTS (SELECT 1 FROM {nxt} N WHERE N.gid = L.gid))
            WHERE rn = 1""")
        self.record(first, sid, index, body, k, at, bound)

    def record(self, first: str, sid: int, index: int, body: tuple[Any, ...], k: int, at: int,
               bound: Mapping[str, str | None]) -> None:
        """Record the failures of the goals in ``first`` (one row each: the frontier's
        first partial match, its variables as columns) at condition ``at``, ``k`` held."""
        item = body[at]
        env = {n: f"F.{_v(n)}" for n in bound}
        sub = "CAST(NULL AS BIGINT)"
        ok_self = "FALSE"
        dr = ["CAST(0 AS BIGINT)"] * len(self.ms)
        joins = ""
        if isinstance(item, Literal):
            pattern = self.pattern(item.atom, env, bound)
            if not item.negated and item.atom.pred in self.rules:
                sub, joins = self.descend(item.atom, pattern, first)
            elif not item.negated and pattern[0] is not None:
                v0 = pattern[0][0]
                ok_self = (f"({v0}) IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
                           f"{table_name(item.atom.pred)} o WHERE o.c0 = {v0})")
            dr = self.decisive(item, pattern, bound)
        dcols = ", ".join(f"{d} AS dr{w}" for w, d in enumerate(dr))
        if sid not in self.failed:
            self.failed.add(sid)
            self.ex(f"CREATE TABLE {self.table(f'fails{sid}')} ({self.fail_columns})")
        self.ex(f"INSERT INTO fails{sid} SELECT F.gid, {index}, {k}, {sub}, {ok_self}, {dcols}, {sid} "
                f"FROM {first} F{joins}")

    def pattern(self, atom: Atom, env: Mapping[str, str], bound: Mapping[str, str | None]
                ) -> list[tuple[str, str | None] | None]:
        """``instantiate``: per argument, its SQL value and kind, or None (unbound)."""
        scope = BodyScope([], [], dict(env), dict(bound))
        out: list[tuple[str, str | None] | None] = []
        for a in atom.args:
            if isinstance(a, Var):
                out.append((env[a.name], bound[a.name]) if not a.anonymous and a.name in env
                           else None)
            elif variables(a) <= set(env):
                out.append(self.comp.term(a, scope))
            else:
                out.append(("NULL", None))  # undefined: no pattern
        return out

    def descend(self, atom: Atom, pattern: list[tuple[str, str | None] | None], first: str
                ) -> tuple[str, str]:
        """The sub-goal of a failing derived atom (None when its pattern has rows)."""
        bound = tuple(p for p, v in enumerate(pattern) if v is not None)
        shape = self.shape(atom.pred, bound)
        src = self.table(f"sub_src{shape.sid}")
        self.ex(f"DROP TABLE IF EXISTS {src}")
        vals = []
        conds = []
        defined = []
        for p in bound:
            expr, kind = pattern[p]  # type: ignore[misc]
            want = self.sql.kinds[atom.pred][p]
            vals.append(f"CAST({_cast_ok(expr, kind, want)} AS {self.col_type(atom.pred, p)}) AS v{p}")
            defined.append(f"({expr}) IS NOT NULL")
            conds.append(compare_sql("=", f"o.c{p}", want, f"({expr})", kind))
        exists = (f"EXISTS (SELECT 1 FROM {table_name(atom.pred)} o"
                  + (f" WHERE {' AND '.join(conds)})" if conds else ")"))
        cond = " AND ".join(defined + [f"NOT {exists}"])
        self.ex(f"CREATE TABLE {src} AS SELECT F.gid AS parent, "
                f"{', '.join(vals) if vals else '1 AS one'} FROM {first} F WHERE {cond}")
        self.register(shape, src)
        vs = [f"v{p}" for p in bound]
        on = " AND ".join(f"g.{v} IS NOT DISTINCT FROM s.{v}" for v in vs) or "TRUE"
        link = self.table(f"link{shape.sid}")
        self.ex(f"DROP TABLE IF EXISTS {link}")
        self.ex(f"CREATE TABLE {link} AS SELECT s.parent, g.gid FROM {src} s "
                f"JOIN gv{shape.sid} g ON {on}")
        return "S.gid", f" LEFT JOIN {link} S ON S.parent = F.gid"

    def decisive(self, item: Literal, pattern: list[tuple[str, str | None] | None],
                 bound: Mapping[str, str | None]) -> list[str]:
        """The uncertainty marks of what decides a failing atom (per mark word)."""
        atom = item.atom
        if atom.pred not in self.uncertain:  # no proof of its facts names an uncertainty
            return ["CAST(0 AS BIGINT)"] * len(self.ms)
        rel = table_name(atom.pred)
        kinds = self.sql.kinds[atom.pred]
        if any(v is not None and v[0] == "NULL" for v in pattern):
            return ["CAST(0 AS BIGINT)"] * len(self.ms)
        if item.negated:
            conds = [compare_sql("=", f"b.c{p}", kinds[p], f"({v[0]})", v[1])
                     for p, v in enumerate(pattern) if v is not None]
            conds += _repeats(atom, bound)
            row = f"ROW({', '.join(f'b.c{c}' for c in range(len(kinds)))})" if kinds else "1"
            where = f" WHERE {' AND '.join(conds)}" if conds else ""
            return [f"(SELECT COALESCE(arg_min(b.m{w}, {row}), 0) & CAST({u} AS BIGINT) "
                    f"FROM {rel} b{where})" for w, u in enumerate(self.unc)]
        given = [p for p, v in enumerate(pattern) if v is not None]
        if len(given) < 2:
            return ["CAST(0 AS BIGINT)"] * len(self.ms)
        conds = [compare_sql("=", f"b.c{p}", kinds[p], f"({pattern[p][0]})", pattern[p][1])  # type: ignore[index]
                 for p in given[:-1]]
        scen = " OR ".join(f"(b.m{w} & CAST({s} AS BIGINT)) <> 0"
                           for w, s in enumerate(self.s_words) if s)
        conds.append(f"({scen})")
        order = ", ".join(self.repr_key(f"b.c{c}", kinds[c]) for c in range(len(kinds)))
        out = []
        for w, u in enumerate(self.unc):
            out.append(f"(SELECT COALESCE(bit_or(t.m), 0) & CAST({u} AS BIGINT) FROM "
                       f"(SELECT b.m{w} AS m FROM {rel} b WHERE {' AND '.join(conds)} "
                       f"ORDER BY {order} LIMIT 3) t)")
        return out

    def repr_key(self, col: str, kind: str | None) -> str:
        """A sort key of a value as ``repr`` orders it (strings: their symbol order)."""
        if kind == "date":
            return (f"'datetime.date(' || year({col}) || ', ' || month({col}) || ', ' "
                    f"|| day({col}) || ')'")
        if kind in ("int", "dec"):
            return f"CAST({col} AS VARCHAR)"
        if kind == "bool":
            return f"CASE WHEN {col} THEN 'True' ELSE 'False' END"
        return col

    # -- ranks and the chosen failures -----------------------------------------------------

    def rank(self, skip: int) -> None:
        """``best(gid, rule, k, sub, ok_self, dr..)``: each goal's best failure (goals from
        ``skip`` on), goals whose failures' sub-goals are ranked first (at most ``DEPTH``
        hops down count)."""
        ex = self.ex
        drs = ", ".join(f"dr{w}" for w in range(len(self.ms)))
        ex(f"CREATE TABLE {self.table('best')} AS SELECT gid, rule, k, sub, ok_self, {drs} "
           "FROM fails WHERE FALSE")
        hops, deepest = _hops()
        select = (f"INSERT INTO best SELECT gid, rule, k, sub, ok_self, {drs} FROM ("
                  "SELECT f.*, row_number() OVER (PARTITION BY f.gid "
                  f"ORDER BY (NOT {deepest}) DESC, f.k DESC, f.rule) AS rn FROM fails f{hops} "
                  "WHERE {cond}) WHERE rn = 1")
        order = self.shape_order()
        if order is not None:
            # a shape's failures descend only into shapes ranked before it
            for sid in order:
                if sid in self.failed:
                    ex(select.replace("FROM fails f", f"FROM fails{sid} f").format(
                        cond=f"f.gid >= {skip}"))
            return
        ex(f"CREATE TABLE {self.table('todo')} AS SELECT * FROM fails WHERE gid >= {skip}")
        for _ in range(_MAX_ROUNDS):
            ex(f"DROP TABLE IF EXISTS {self.table('ready')}")
            # goals not ranked yet whose failures' sub-goals are (or have no failure)
            ex("""CREATE TABLE ready AS SELECT f.gid FROM todo f
                LEFT JOIN best sb ON sb.gid = f.sub
                LEFT JOIN (SELECT DISTINCT gid FROM todo) sf ON sf.gid = f.sub
                GROUP BY f.gid
                HAVING bool_and(f.sub IS NULL OR sb.gid IS NOT NULL OR sf.gid IS NULL)""")
            if not ex("SELECT COUNT(*) FROM ready")[0][0]:
                if ex("SELECT COUNT(*) FROM todo")[0][0]:
                    break  # a cycle of failures
                return
            ex(select.format(cond="f.gid IN (SELECT gid FROM todo) "
                                  "AND f.gid IN (SELECT gid FROM ready)"))
            ex("DELETE FROM todo WHERE gid IN (SELECT gid FROM ready)")
        raise EngineError("the search for why exceptions fail did not settle",
                          hint="screen with --engine earlog")

    def shape_order(self) -> list[int] | None:
        """The shapes, each after every shape its failures descend into (None: a cycle)."""
        edges = self.ex("SELECT DISTINCT f.sid, g.sid FROM fails f JOIN goals g ON g.gid = f.sub")
        below: dict[int, set[int]] = {sh.sid: set() for sh in self.shapes.values()}
        for parent, child in edges:
            below[int(parent)].add(int(child))
        order: list[int] = []
        done: set[int] = set()
        while len(order) < len(below):
            ready = [s for s, kids in below.items() if s not in done and kids <= done]
            if not ready:
                return None
            for s in sorted(ready):
                order.append(s)
                done.add(s)
        return order

    def finish(self, top: _Shape, n_top: int) -> None:
        """Entries of table ``ruled`` for ``failing``: the best rule's citation, and the
        decisive marks of the last failure of the chain below it. The best failures of the
        top goals below ``n_top`` are chosen here (the others are in ``best``)."""
        if n_top and top.sid in self.failed:
            hops, deepest = _hops()
            drs = ", ".join(f"dr{w}" for w in range(len(self.ms)))
            self.ex(f"""INSERT INTO best SELECT gid, rule, k, sub, ok_self, {drs} FROM (
                SELECT f.*, row_number() OVER (PARTITION BY f.gid
                    ORDER BY (NOT {deepest}) DESC, f.k DESC, f.rule) AS rn
                FROM fails{top.sid} f{hops} WHERE f.gid < {n_top}
            ) WHERE rn = 1""")
        chain = "".join(f" LEFT JOIN best c{h} ON c{h}.gid = {'t.sub' if h == 1 else f'c{h - 1}.sub'}"
                        for h in range(1, DEPTH))
        dr = ", ".join("COALESCE(" + ", ".join(f"c{h}.dr{w}" for h in range(DEPTH - 1, 0, -1))
                       + f", t.dr{w}, 0) & CAST({u} AS BIGINT)" for w, u in enumerate(self.unc))
        self.ex(f"""INSERT INTO ruled
            SELECT f.tx, f.code, f.name, f.k, 3, COALESCE(rc.cite, ''), {dr}
            FROM failing f JOIN gv{top.sid} g ON g.v0 = f.tx AND g.v1 = f.code
            LEFT JOIN best t ON t.gid = g.gid{chain}
            LEFT JOIN rule_cite rc ON rc.r = t.rule""")


def _hops() -> tuple[str, str]:
    """SQL joining a failure ``f`` to the best failures up to ``DEPTH`` hops below it, and
    whether the deepest of them stops at an input atom with no row for its first value."""
    hops = "".join(f" LEFT JOIN best d{h} ON d{h}.gid = {'f.sub' if h == 1 else f'd{h - 1}.sub'}"
                   for h in range(1, DEPTH + 1))
    deepest = ("COALESCE(" + ", ".join(f"d{h}.ok_self" for h in range(DEPTH, 0, -1))
               + ", f.ok_self)")
    return hops, deepest


def _uncertain_preds(checked: CheckedProgram) -> set[str]:
    """The predicates some of whose facts may have a proof with an uncertainty mark (a rule
    flagged uncertain, or a premise of such a predicate, concludes them)."""
    out: set[str] = set()
    changed = True
    while changed:
        changed = False
        for r in checked.rules:
            if r.head.pred in out:
                continue
            premises = {i.atom.pred for i in r.body if isinstance(i, Literal) and not i.negated}
            if r.meta.uncertain or premises & out:
                out.add(r.head.pred)
                changed = True
    return out


def _v(name: str) -> str:
    return quote_ident("v_" + name)


def _inner(agg: Aggregate) -> set[str]:
    out: set[str] = set()
    for item in agg.body:
        out |= variables(item)
    return out | {agg.result.name}


def _repeats(atom: Atom, bound: Mapping[str, str | None]) -> list[str]:
    """Equalities between the columns of a variable unbound yet repeated in ``atom``."""
    seen: dict[str, int] = {}
    out = []
    for c, a in enumerate(atom.args):
        if isinstance(a, Var) and not a.anonymous and a.name not in bound:
            if a.name in seen:
                out.append(f"b.c{seen[a.name]} = b.c{c}")
            else:
                seen[a.name] = c
    return out


def _cast_ok(expr: str, kind: str | None, want: str | None) -> str:
    """A value for a column of kind ``want`` (NULL when of another kind: no such row)."""
    if kind == want or (kind == "int" and want == "dec"):
        return expr
    return "NULL"
