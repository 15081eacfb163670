"""Rule files: load a rule set (TOML) and check every key, naming the file, the rule and the key on any problem.

A rule set is a TOML file (shipped ones in ``solarmap/data/rules/``, or any path): a baseline year (buildings
built in or after it are ``new``), rules, a district capacity target, renewable substitution targets and an
energy-use-intensity table. A rule names the categories (optionally narrowed to use classes) and the stage it
covers, what it measures, the threshold (a fraction), the deadline, and the scope (each subdistrict, or the whole
run). Evaluating the rules against assessed roofs is :mod:`solarmap.policy`'s work.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from solarmap.errors import ConfigError
from solarmap.resources import RULES_DIR
from solarmap.sources.categories import CATEGORIES, USE_CLASSES

MEASURES = ("share_of_buildings", "share_of_gross_area", "share_of_installable_area", "building_area_ratio")
STAGES = ("new", "existing", "any")
SCOPES = ("subdistrict", "district")
_RULE_KEYS = {"id", "text", "categories", "uses", "stage", "measure", "threshold", "deadline", "level",
              "feasible_only", "scope", "include_flagged"}
_SET_KEYS = {"name", "title", "source", "baseline_year", "district_target", "substitution",
             "energy_use_intensity_kwh_per_m2", "storey_height_m", "rules"}


@dataclass(frozen=True)
class Rule:
    id: str
    text: str
    categories: tuple[str, ...]
    uses: tuple[str, ...]
    stage: str
    measure: str
    threshold: float
    deadline: int
    feasible_only: bool
    scope: str
    include_flagged: bool = False  # buildings an exclusion zone flags count toward this rule

    @property
    def level(self) -> str:
        return "building" if self.measure == "building_area_ratio" else "portfolio"


@dataclass
class RuleSet:
    name: str
    title: str
    path: str
    baseline_year: int
    rules: list[Rule]
    source: str = ""
    district_target_kw: float | None = None
    district_target_year: int | None = None
    substitution_targets: list[tuple[int, float]] = field(default_factory=list)
    energy_use_intensity: dict[str, float] = field(default_factory=dict)
    storey_height_m: float = 3.0

    def describe(self) -> dict:
        return {"name": self.name, "title": self.title, "path": self.path, "source": self.source,
                "baseline_year": self.baseline_year, "district_target_kw": self.district_target_kw,
                "district_target_year": self.district_target_year,
                "substitution_targets": [{"year": y, "rate": r} for y, r in self.substitution_targets],
                "energy_use_intensity_kwh_per_m2": self.energy_use_intensity,
                "rules": [vars(r) | {"level": r.level} for r in self.rules]}


def _err(path, where: str, msg: str) -> ConfigError:
    return ConfigError(f"rule file {path}: {where}: {msg}")


def _rule(path, raw: dict, k: int) -> Rule:
    rid = str(raw.get("id", f"#{k + 1}"))
    where = f"rule '{rid}'"
    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise _err(path, where, f"unknown key '{unknown[0]}' (allowed: {', '.join(sorted(_RULE_KEYS))})")
    for key in ("id", "categories", "measure", "threshold"):
        if key not in raw:
            raise _err(path, where, f"missing key '{key}'")
    cats = raw["categories"]
    if isinstance(cats, str):
        cats = [cats]
    bad = [c for c in cats if c not in CATEGORIES]
    if bad or not cats:
        raise _err(path, where, f"key 'categories': unknown category '{bad[0] if bad else ''}' (known: {', '.join(CATEGORIES)})")
    uses = raw.get("uses", [])
    bad = [u for u in uses if u not in USE_CLASSES]
    if bad:
        raise _err(path, where, f"key 'uses': unknown use class '{bad[0]}' (known: {', '.join(USE_CLASSES)})")
    stage = raw.get("stage", "any")
    if stage not in STAGES:
        raise _err(path, where, f"key 'stage' = {stage!r} is not one of {', '.join(STAGES)}")
    measure = raw["measure"]
    if measure not in MEASURES:
        raise _err(path, where, f"key 'measure' = {measure!r} is not one of {', '.join(MEASURES)}")
    threshold = raw["threshold"]
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 < threshold <= 1:
        hint = f"; write {threshold / 100:g} for {threshold:g} %" if isinstance(threshold, int | float) and 1 < threshold <= 100 else ""
        raise _err(path, where, f"key 'threshold' = {threshold!r} must be a fraction in (0, 1]{hint}")
    deadline = raw.get("deadline", 2025)
    if not isinstance(deadline, int) or not 2000 <= deadline <= 2100:
        raise _err(path, where, f"key 'deadline' = {deadline!r} must be a year")
    level = raw.get("level")
    expected = "building" if measure == "building_area_ratio" else "portfolio"
    if level is not None and level != expected:
        raise _err(path, where, f"key 'level' = {level!r} does not fit measure '{measure}' (which is '{expected}' level)")
    scope = raw.get("scope", "subdistrict")
    if scope not in SCOPES:
        raise _err(path, where, f"key 'scope' = {scope!r} is not one of {', '.join(SCOPES)}")
    feasible_only = raw.get("feasible_only", False)
    if not isinstance(feasible_only, bool):
        raise _err(path, where, f"key 'feasible_only' must be true or false, got {feasible_only!r}")
    include_flagged = raw.get("include_flagged", False)
    if not isinstance(include_flagged, bool):
        raise _err(path, where, f"key 'include_flagged' must be true or false, got {include_flagged!r}")
    return Rule(id=rid, text=str(raw.get("text", "")), categories=tuple(cats), uses=tuple(uses), stage=stage,
                measure=measure, threshold=float(threshold), deadline=deadline, feasible_only=feasible_only, scope=scope,
                include_flagged=include_flagged)


def load_rule_set(name_or_path: str) -> RuleSet:
    """Load a rule set by name (a shipped one, ``solarmap/data/rules/<name>.toml``) or path; every problem names file, rule and key."""
    path = Path(name_or_path)
    if not (path.suffix == ".toml" or path.exists()):
        path = RULES_DIR / f"{name_or_path}.toml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in RULES_DIR.glob("*.toml")))
        msg = f"unknown rule set '{name_or_path}' (shipped: {known}; or give a TOML path)"
        raise ConfigError(msg)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        msg = f"rule file {path}: not valid TOML ({exc})"
        raise ConfigError(msg) from None
    unknown = sorted(set(data) - _SET_KEYS)
    if unknown:
        raise _err(path, "top level", f"unknown key '{unknown[0]}' (allowed: {', '.join(sorted(_SET_KEYS))})")
    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list) or not raw_rules:
        raise _err(path, "top level", "needs at least one [[rules]] table")
    rules = [_rule(path, r, k) for k, r in enumerate(raw_rules)]
    ids = [r.id for r in rules]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise _err(path, f"rule '{dup[0]}'", "key 'id' is used twice")
    target = data.get("district_target", {})
    for key in target:
        if key not in ("capacity_kw", "year"):
            raise _err(path, "[district_target]", f"unknown key '{key}' (allowed: capacity_kw, year)")
    subst = data.get("substitution", {})
    for key in subst:
        if key != "targets":
            raise _err(path, "[substitution]", f"unknown key '{key}' (allowed: targets)")
    targets = []
    for t in subst.get("targets", []):
        if set(t) != {"year", "rate"} or not 0 < t["rate"] <= 1:
            raise _err(path, "[substitution]", f"key 'targets': each needs year and a rate in (0, 1], got {t}")
        targets.append((int(t["year"]), float(t["rate"])))
    eui = data.get("energy_use_intensity_kwh_per_m2", {})
    for key, v in eui.items():
        if key not in CATEGORIES and key not in USE_CLASSES:
            raise _err(path, "[energy_use_intensity_kwh_per_m2]", f"unknown key '{key}' (categories or use classes)")
        if not isinstance(v, int | float) or v <= 0:
            raise _err(path, "[energy_use_intensity_kwh_per_m2]", f"key '{key}' must be a positive number")
    baseline = data.get("baseline_year", 2021)
    if not isinstance(baseline, int):
        raise _err(path, "top level", f"key 'baseline_year' must be a year, got {baseline!r}")
    return RuleSet(name=str(data.get("name", path.stem)), title=str(data.get("title", "")), path=str(path),
                   baseline_year=baseline, rules=rules, source=str(data.get("source", "")),
                   district_target_kw=target.get("capacity_kw"), district_target_year=target.get("year"),
                   substitution_targets=targets, energy_use_intensity={k: float(v) for k, v in eui.items()},
                   storey_height_m=float(data.get("storey_height_m", 3.0)))


def list_rule_sets() -> list[dict]:
    out = []
    for p in sorted(RULES_DIR.glob("*.toml")):
        rs = load_rule_set(str(p))
        out.append({"name": rs.name, "title": rs.title, "path": str(p), "rules": len(rs.rules)})
    return out
