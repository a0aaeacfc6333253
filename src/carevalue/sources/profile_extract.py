"""``carevalue profile``: each coded field's values against the contract, and a draft mapping.

Reads an extract the way ingest would (the same pre-flight, renames and code translation)
but writes nothing to a warehouse. For every field with a fixed list of values it counts
each value as written and says whether the contract takes it, the standard NHS codes
translate it, the trust's mapping translates it, or nothing does; it counts the rows
ingest would quarantine and why; and it drafts the mapping file for what it cannot place.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from carevalue.errors import UserError
from carevalue.sources.extract_mapping import MAPPING_FILE, ExtractMapping, find_mapping
from carevalue.sources.feeds import FEEDS, Feed
from carevalue.sources.quarantine_guard import ProblemTally
from carevalue.sources.read_extract import FeedFile, open_feed_file, stream_rows
from carevalue.sources.recode import recode_batch
from carevalue.sources.standard_codes import standard_codes
from carevalue.sources.validate_rows import check_batch

ACCEPTED, STANDARD, MAPPED, UNKNOWN = "in the contract", "standard code", "mapping file", "unknown"
_DAY_FIRST = re.compile(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{4}")
# A file's own name for a contract column, as trusts' systems commonly spell it.
COLUMN_SYNONYMS = {
    "gender": "sex",
    "sex_code": "sex",
    "gender_code": "sex",
    "dob": "birth_date",
    "date_of_birth": "birth_date",
    "dod": "death_date",
    "date_of_death": "death_date",
    "nhs_no": "nhs_number",
    "nhsnumber": "nhs_number",
    "ethnic_category": "ethnicity",
    "ethnic_group": "ethnicity",
    "admission_date": "start_at",
    "discharge_date": "end_at",
}


@dataclass
class ValueCount:
    value: str | None
    rows: int
    status: str
    becomes: str | None = None


@dataclass
class FeedProfile:
    feed: Feed
    file: str | None = None
    problem: str | None = None  # why the file could not be profiled
    rows: int = 0
    rows_bad: int = 0
    fields: dict[str, list[ValueCount]] = field(default_factory=dict)
    day_first_dates: dict[str, int] = field(default_factory=dict)
    renames: dict[str, str] = field(default_factory=dict)  # suggested: file column -> contract
    tally: ProblemTally = field(default_factory=ProblemTally)


def profile_extract(
    folder: Path,
    *,
    mapping: Path | None = None,
    delimiter: str = ",",
    encoding: str = "utf-8",
    catalogue: dict[str, Feed] | None = None,
) -> tuple[ExtractMapping, list[FeedProfile]]:
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(
            f"{folder} is not a folder; give the folder that holds the extract's feed files."
        )
    catalogue = catalogue or FEEDS
    extract_mapping = find_mapping(folder, mapping, catalogue)
    profiles = []
    for feed in catalogue.values():
        profile = FeedProfile(feed)
        try:
            feed_file = open_feed_file(
                folder,
                feed,
                delimiter=delimiter,
                encoding=encoding,
                mapping=extract_mapping.feed(feed.name),
            )
        except UserError as error:
            profile.problem = str(error)
            profile.renames = _suggest_renames(folder, feed, extract_mapping, delimiter, encoding)
            profiles.append(profile)
            continue
        profile.file = feed_file.name
        _count(feed_file, profile)
        profiles.append(profile)
    return extract_mapping, profiles


def _count(feed_file: FeedFile, profile: FeedProfile) -> None:
    feed = feed_file.feed
    coded = [c for c in feed.columns if c.allowed is not None]
    dates = [c.name for c in feed.columns if c.type in ("date", "timestamp")]
    counts: dict[str, Counter] = {c.name: Counter() for c in coded}
    for raw, rows, malformed in stream_rows(feed_file):
        raw = raw.rename_columns(feed_file.contract_columns)
        for column in coded:
            if column.name in raw.column_names:
                text = pc.utf8_trim_whitespace(raw.column(column.name))
                for item in pc.value_counts(text).to_pylist():
                    counts[column.name][item["values"] or None] += item["counts"]
        for name in dates:
            if name in raw.column_names:
                hits = pc.match_substring_regex(raw.column(name), _DAY_FIRST.pattern)
                profile.day_first_dates[name] = profile.day_first_dates.get(name, 0) + int(
                    pc.sum(pc.cast(hits, pa.int64())).as_py() or 0
                )
        checked = check_batch(feed, recode_batch(feed, raw, feed_file.mapping), rows, written=raw)
        profile.tally.add(checked.problems)
        profile.rows += raw.num_rows + len(malformed)
        profile.rows_bad += checked.bad_rows.num_rows + len(malformed)
    for column in coded:
        profile.fields[column.name] = [
            _place(feed, column.name, value, n, feed_file.mapping.values.get(column.name, {}))
            for value, n in counts[column.name].most_common()
        ]


def _place(feed: Feed, column: str, value: str | None, rows: int, own: dict) -> ValueCount:
    allowed = {a.lower(): a for a in feed.column(column).allowed or ()}
    if value is None:
        return ValueCount(None, rows, ACCEPTED)
    key = value.lower()
    if key in own:
        return ValueCount(value, rows, MAPPED, own[key])
    if key in allowed:
        return ValueCount(value, rows, ACCEPTED, allowed[key])
    standard = standard_codes(feed.name, column)
    if key in standard:
        return ValueCount(value, rows, STANDARD, standard[key])
    return ValueCount(value, rows, UNKNOWN)


def _normal(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def _suggest_renames(folder, feed, mapping, delimiter, encoding) -> dict[str, str]:
    """For a file refused for missing columns: header names that look like them."""
    from carevalue.sources.read_extract import _csv_header, find_feed_file

    try:
        path = find_feed_file(folder, feed, mapping.feed(feed.name))
        header = _csv_header(path, feed, delimiter=delimiter, encoding=encoding)
    except (UserError, OSError):
        return {}
    present = set(header) | set(mapping.feed(feed.name).columns.values())
    suggestions = {}
    for name in header:
        target = COLUMN_SYNONYMS.get(_normal(name), _normal(name))
        if target in feed.column_names and target not in present and name != target:
            suggestions[name] = target
    return suggestions


def draft_mapping(
    folder: Path, extract_mapping: ExtractMapping, profiles: list[FeedProfile]
) -> str:
    """A mapping file for every value, date format and column the profile could not place,
    with the trust's existing mapping kept; '?' marks a choice left to the reader."""
    lines = [
        f"# Draft mapping for {folder}, written by 'carevalue profile'.",
        "# Replace every '?' with one of the values listed beside it, check the guesses, then",
        f"# save this file as {Path(folder) / MAPPING_FILE} (or pass it with --mapping).",
    ]
    for profile in profiles:
        feed, own = profile.feed, extract_mapping.feed(profile.feed.name)
        block: list[str] = []
        if own.file:
            block.append(f"  file: {_quote(own.file)}")
        renames = {**own.columns, **profile.renames}
        if renames:
            block.append("  columns:")
            block += [f"    {_quote(a)}: {b}" for a, b in renames.items()]
        values = _draft_values(profile, own)
        if values:
            block.append("  values:")
            block += values
        date_format = own.date_format
        if (
            date_format == "YYYY-MM-DD"
            and profile.rows
            and any(n > profile.rows / 2 for n in profile.day_first_dates.values())
        ):
            date_format = "DD/MM/YYYY"
            block.append("  # Most dates are written day first; use MM/DD/YYYY if month first.")
        if date_format != "YYYY-MM-DD":
            block.append(f"  date_format: {date_format}")
        if block:
            lines += [f"{feed.name}:", *block]
    return "\n".join(lines) + "\n"


def _draft_values(profile: FeedProfile, own) -> list[str]:
    out = []
    for column, counted in profile.fields.items():
        allowed = profile.feed.column(column).allowed or ()
        entries = []
        for code, target in own.values.get(column, {}).items():
            entries.append(f"      {_quote(code)}: {_quote(target)}")
        for item in counted:
            if item.status != UNKNOWN:
                continue
            guess = _guess(item.value, allowed)
            note = (
                "guessed from the spelling; check it" if guess else "one of " + ", ".join(allowed)
            )
            entries.append(
                f"      {_quote(item.value)}: {_quote(guess or '?')}   # {item.rows:,} rows; {note}"
            )
        if entries:
            out += [f"    {column}:", *entries]
    return out


def _guess(value: str, allowed: tuple[str, ...]) -> str | None:
    """The one allowed value the code is a prefix of or abbreviates, if exactly one."""
    key = _normal(value)
    if not key:
        return None
    hits = [a for a in allowed if a.lower().startswith(key) or _normal(a) == key]
    return hits[0] if len(hits) == 1 else None


def _quote(text: str | None) -> str:
    if text is None:
        return "~"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
