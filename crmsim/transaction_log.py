"""A shop's transaction log (交易记录), read and checked before anything is fitted to it.

A log is one row per transaction: who bought (``customer_col``), when (``time_col``) and how much
(``amount_col``), as a pandas DataFrame or a CSV file. :func:`read_transactions` turns it into
the table the rest of crmsim reads — ``customer_id``, ``time``, ``amount``, time as a number in
``time_unit`` — and refuses, with one line naming the row, the column, the value and what is
allowed, anything it would otherwise have to guess about: missing or misnamed columns, empty
logs, missing customers, times that are not dates or numbers, amounts that are not numbers or
are negative, and exact duplicate rows (two identical purchases on one day, or one purchase
exported twice? only the shop knows: say which with ``duplicates="keep"`` or ``"drop"``).

Conventions, those of the BG/NBD literature (Fader, Hardie & Lee 2005):

* **Dates** may be in any format pandas parses, one format for the column (inferred from its
  first value, or given as ``date_format``; ``"mixed"`` reads each value on its own). A value
  such as 01/02/2020 is ambiguous: crmsim takes the order (day or month first) that reads every
  value and asks for ``date_format`` when both do. Dates with a UTC offset are taken in UTC.
  Dates are taken to the calendar day, and time is counted in ``time_unit`` from the first day
  in the log: ``day`` = 1 day, ``week`` = 7 days, ``month`` = 365.25/12 days, ``year`` = 365.25
  days. **Numbers** are times already in ``time_unit`` (which is then only a label).
* A customer's transactions on the same day (the same time, for numeric logs) are **one
  purchase** with the amounts added: the published CDNOW analyses count "repeat purchases" as
  purchase days, and a continuous-time model cannot tell two purchases at one instant apart.

Every row that is dropped or combined is counted in :attr:`TransactionLog.report`.
"""

from __future__ import annotations

import contextvars
import difflib
import os
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

from crmsim.errors import ScenarioError

#: days per time unit for logs with dates
TIME_UNITS = {"day": 1.0, "week": 7.0, "month": 365.25 / 12, "year": 365.25}

DUPLICATES = ("error", "keep", "drop")

#: the largest amount of one transaction: a larger one is an export error (a misplaced decimal
#: point, a card number in the amount column), and the spend fit would be absurd
MAX_AMOUNT = 1e12

#: the command-line option of each reading option, for messages from ``crmsim calibrate``
CLI_OPTIONS = {"time_unit": "--time-unit", "duplicates": "--duplicates",
               "date_format": "--date-format", "calibration_end": "--calibration-end",
               "holdout_end": "--holdout-end", "customer_col": "--columns",
               "time_col": "--columns", "amount_col": "--columns"}
_CLI = contextvars.ContextVar("crmsim_cli_option_names", default=False)


@contextmanager
def cli_option_names():
    """While active, messages name the command line's options (``--duplicates keep``) rather
    than the Python API's keywords (``duplicates='keep'``): ``crmsim calibrate`` reads the log
    inside it."""
    token = _CLI.set(True)
    try:
        yield
    finally:
        _CLI.reset(token)


def option(name: str) -> str:
    """The name of a reading option as the user gave it: ``duplicates`` or ``--duplicates``."""
    return CLI_OPTIONS.get(name, name) if _CLI.get() else name


def suggest(name: str, value: str) -> str:
    """How to give an option: ``duplicates='keep'`` or ``--duplicates keep``."""
    if not _CLI.get():
        return f"{name}={value if value == '...' else repr(value)}"
    shown = value if value == "..." or value.isidentifier() else repr(value)
    return f"{CLI_OPTIONS.get(name, name)} {shown}"


#: what each count in :attr:`TransactionLog.report` means
REPORT_ITEMS = {
    "rows_read": "rows in the log",
    "duplicate_rows_dropped": "rows that repeated an earlier row exactly, dropped "
                              "(duplicates='drop')",
    "duplicate_rows_kept": "rows that repeated an earlier row exactly, kept as separate "
                           "purchases (duplicates='keep')",
    "same_day_rows_combined": "rows added into another purchase of the same customer on the "
                              "same day (same time for numeric logs)",
    "transactions": "purchases after combining (one per customer and day)",
    "customers": "customers in the log",
}


@dataclass(frozen=True)
class TransactionLog:
    """A checked log: ``table`` has ``customer_id``, ``time`` (float, ``time_unit`` since
    ``origin``), ``amount``, one row per customer and purchase day, sorted by customer and time.

    ``origin`` is the first day in the log for dates (``None`` for numeric times, whose origin is
    0); ``report`` counts what was read, dropped and combined (:data:`REPORT_ITEMS`).
    """

    table: pd.DataFrame
    time_unit: str
    origin: pd.Timestamp | None
    report: dict[str, int] = field(default_factory=dict)
    source: str = "transactions"

    @property
    def first_time(self) -> float:
        return float(self.table["time"].min())

    @property
    def last_time(self) -> float:
        return float(self.table["time"].max())

    def to_time(self, value, name: str) -> float:
        """A date (for a log of dates) or a number (numeric log) as a time in ``time_unit``."""
        if self.origin is None:
            if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
                    value, bool) and np.isfinite(value):
                return float(value)
            raise ScenarioError(f"{option(name)} = {_plain(value)}: the log's times are numbers "
                                f"(in {self.time_unit}s), so {option(name)} must be a finite "
                                "number too", self.source)
        if isinstance(value, (int, float, np.integer, np.floating)):
            raise ScenarioError(f"{option(name)} = {_plain(value)}: the log's times are dates, "
                                f"so {option(name)} must be a date, e.g. "
                                f"'{self.origin.date()}'", self.source)
        try:
            stamp = pd.Timestamp(value)
        except (ValueError, TypeError):
            stamp = pd.NaT
        if pd.isna(stamp):
            raise ScenarioError(f"{option(name)} = {value!r} is not a date; allowed: a date in any "
                                f"format pandas reads, e.g. '{self.origin.date()}'", self.source)
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        return (stamp - self.origin) / pd.Timedelta(days=TIME_UNITS[self.time_unit])

    def to_date(self, time):
        """A time in ``time_unit`` back as a date (``None`` for numeric logs)."""
        if self.origin is None:
            return None
        return self.origin + pd.to_timedelta(np.asarray(time, dtype=float)
                                             * TIME_UNITS[self.time_unit], unit="D")

    def describe(self, time: float) -> str:
        """A time as the user wrote it: the date for a log of dates, else the number."""
        date = self.to_date(time)
        return f"{time:g}" if date is None else str(pd.Timestamp(date).date())

    def report_table(self) -> pd.DataFrame:
        """The report with what each count means."""
        return pd.DataFrame({"count": list(self.report.values()),
                             "meaning": [REPORT_ITEMS.get(k, "") for k in self.report]},
                            index=list(self.report))


def read_transactions(transactions, *, time_unit: str = "week",
                      customer_col: str = "customer_id", time_col: str = "time",
                      amount_col: str = "amount", duplicates: str = "error",
                      date_format: str | None = None) -> TransactionLog:
    """Read and check a transaction log (a DataFrame, or the path of a CSV file).

    Raises :class:`~crmsim.errors.ScenarioError` with one line for the first problem of each
    kind. See the module docstring for the conventions.
    """
    frame, source, line_offset = _load(transactions)
    if duplicates not in DUPLICATES:
        raise ScenarioError(f"{option('duplicates')} = {duplicates!r}; allowed: "
                            f"{', '.join(DUPLICATES)}", source)
    columns = {"customer_col": customer_col, "time_col": time_col, "amount_col": amount_col}
    _check_distinct(columns, source)
    _check_columns(frame, columns, source)
    if len(frame) == 0:
        raise ScenarioError("the log has no transactions (a header but no rows); expected one "
                            f"row per transaction with {customer_col}, {time_col}, "
                            f"{amount_col}", source)

    def where(position: int) -> str:
        if line_offset is not None:
            return f"line {position + line_offset}"
        return f"row {frame.index[position]!r}"

    customers = frame[customer_col]
    missing = customers.isna().to_numpy()
    if missing.any():
        first = int(np.argmax(missing))
        raise ScenarioError(f"{where(first)}: {customer_col} is missing ({int(missing.sum())} "
                            f"rows without a customer); every transaction needs a customer id",
                            source)
    if customers.dtype == object:     # ids of mixed types (1, "1", "A7") compare as text
        customers = customers.astype(str)
    amounts = _amounts(frame[amount_col], amount_col, where, source)
    times, origin = _times(frame[time_col], time_col, time_unit, date_format, where, source)

    report = {"rows_read": int(len(frame))}
    repeated = frame.duplicated().to_numpy()
    keep = np.ones(len(frame), dtype=bool)
    if repeated.any():
        count = int(repeated.sum())
        if duplicates == "error":
            position = int(np.argmax(repeated))
            row = {k: (v.item() if hasattr(v, "item") else v)  # plain values for the message
                   for k, v in frame.iloc[position].items()}
            hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
            earlier = int(np.argmax(hashes == hashes[position]))
            raise ScenarioError(
                f"{count} rows repeat an earlier row exactly (first: {where(position)} repeats "
                f"{where(earlier)}: {customer_col} {row[customer_col]!r}, {time_col} "
                f"{row[time_col]!r}, {amount_col} {row[amount_col]!r}); say what they are: "
                f"{suggest('duplicates', 'keep')} (separate purchases; the published CDNOW "
                f"analyses keep them) or {suggest('duplicates', 'drop')} (copies of one "
                "purchase)", source)
        if duplicates == "drop":
            keep = ~repeated
            report["duplicate_rows_dropped"] = count
        else:
            report["duplicate_rows_kept"] = count

    table = pd.DataFrame({"customer_id": customers.to_numpy()[keep], "time": times[keep],
                          "amount": amounts[keep]})
    combined = table.groupby(["customer_id", "time"], sort=True, as_index=False)["amount"].sum()
    report["same_day_rows_combined"] = int(len(table) - len(combined))
    report["transactions"] = int(len(combined))
    report["customers"] = int(combined["customer_id"].nunique())
    return TransactionLog(table=combined, time_unit=time_unit, origin=origin, report=report,
                          source=source)


def _load(transactions):
    """(frame, source name, line offset for messages or None for a DataFrame)."""
    if isinstance(transactions, pd.DataFrame):
        return transactions, "transactions", None
    if isinstance(transactions, (str, os.PathLike)):
        path = os.fspath(transactions)
        if os.path.isdir(path):
            raise ScenarioError(f"{path!r} is a folder, not a file; expected a CSV "
                                "transaction log", path)
        if not os.path.isfile(path):
            raise ScenarioError(f"no such file: {path!r}; expected a CSV transaction log",
                                path)
        try:
            frame = pd.read_csv(path)
        except pd.errors.EmptyDataError:
            raise ScenarioError("the file is empty; expected a CSV with a header line (e.g. "
                                "customer_id,date,amount) and one row per transaction",
                                path) from None
        except (pd.errors.ParserError, UnicodeDecodeError) as error:
            first_line = str(error).strip().splitlines()[0]
            raise ScenarioError(f"not a readable CSV file ({first_line}); expected a header "
                                "line and one row per transaction", path) from None
        return frame.reset_index(drop=True), path, 2   # line 1 is the header
    raise ScenarioError(f"transactions = {type(transactions).__name__}; allowed: a pandas "
                        "DataFrame or the path of a CSV file")


def _check_distinct(columns: dict[str, str], source: str) -> None:
    """The customer id, the date and the amount must be three different columns."""
    named = list(columns.values())
    twice = next((name for name in named if named.count(name) > 1), None)
    if twice is None:
        return
    if _CLI.get():
        given = f"--columns {','.join(map(str, named))}"
    else:
        given = " and ".join(f"{k}={v!r}" for k, v in columns.items() if v == twice)
    raise ScenarioError(f"{given}: the column {twice!r} is named twice; allowed: three "
                        "different columns, the customer id, the date (or time) and the "
                        "amount", source)


def _check_columns(frame: pd.DataFrame, columns: dict[str, str], source: str) -> None:
    present = [str(c) for c in frame.columns]
    missing = [(arg, name) for arg, name in columns.items() if name not in frame.columns]
    if not missing:
        return
    unused = [c for c in present if c not in columns.values()]
    parts = []
    roles = list(columns)
    for arg, name in missing:
        close = difflib.get_close_matches(str(name), unused, n=1, cutoff=0.3)
        if _CLI.get():
            ordinal = ("1st", "2nd", "3rd")[roles.index(arg)] if arg in roles else "?"
            if close:
                fixed = ",".join(close[0] if k == arg else str(v) for k, v in columns.items())
                hint = f" — did you mean --columns {fixed}?"
            else:
                hint = " — name the log's columns with --columns ID,DATE,AMOUNT"
            parts.append(f"no column {name!r} (the {ordinal} name of --columns "
                         f"{','.join(map(str, columns.values()))}){hint}")
            continue
        hint = f" — did you mean {arg}={close[0]!r}?" if close else f" — name it with {arg}=..."
        parts.append(f"no column {name!r} ({arg}){hint}")
    raise ScenarioError("; ".join(parts) + f"; the log's columns are: {', '.join(present)}",
                        source)


def _amounts(column: pd.Series, name: str, where, source: str) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        first = int(np.argmax(bad))
        raw = column.iloc[first]
        what = ("is missing" if pd.isna(raw) else f"{_plain(raw)} is not a number"
                if not isinstance(raw, (int, float, np.integer, np.floating))
                else f"is not a finite number: {_plain(raw)}")
        raise ScenarioError(f"{where(first)}: {name} {what} ({int(bad.sum())} such rows); "
                            "allowed: numbers ≥ 0", source)
    huge = values > MAX_AMOUNT
    if huge.any():
        first = int(np.argmax(huge))
        raise ScenarioError(f"{where(first)}: {name} {values[first]:g} is above the limit "
                            f"{MAX_AMOUNT:g} ({int(huge.sum())} such rows); allowed: amounts "
                            f"from 0 to {MAX_AMOUNT:g} (an export error? a misplaced decimal "
                            "point?)", source)
    negative = values < 0
    if negative.any():
        first = int(np.argmax(negative))
        raise ScenarioError(f"{where(first)}: {name} {values[first]:g} is negative "
                            f"({int(negative.sum())} such rows); allowed: amounts ≥ 0 (take "
                            "returns and refunds out of the log, or net them into the "
                            "purchase)", source)
    return values


def _times(column: pd.Series, name: str, time_unit: str, date_format, where, source: str):
    """(times as floats in time_unit, origin date or None)."""
    if pd.api.types.is_bool_dtype(column):
        raise ScenarioError(f"{name} holds true/false values; allowed: dates or numbers",
                            source)
    if pd.api.types.is_numeric_dtype(column):
        if not isinstance(time_unit, str) or not time_unit:
            raise ScenarioError(f"{option('time_unit')} = {time_unit!r}; allowed: a label such as "
                                f"{', '.join(TIME_UNITS)}", source)
        values = column.to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            first = int(np.argmax(bad))
            raise ScenarioError(f"{where(first)}: {name} is missing or infinite "
                                f"({int(bad.sum())} such rows); allowed: numbers or dates",
                                source)
        return values, None
    if time_unit not in TIME_UNITS:
        raise ScenarioError(f"{option('time_unit')} = {time_unit!r}; allowed for a log of dates: "
                            f"{', '.join(TIME_UNITS)}", source)
    dates, how = _parse_dates(column, date_format, name, where, source)
    bad = dates.isna().to_numpy()
    if bad.any():
        first = int(np.argmax(bad))
        raw = column.iloc[first]
        what = "is missing" if pd.isna(raw) else f"{raw!r} is not a date {how}"
        raise ScenarioError(f"{where(first)}: {name} {what} ({int(bad.sum())} such rows); "
                            "allowed: dates in one format pandas reads (or say which with "
                            f"{suggest('date_format', '...')}), or numbers", source)
    if dates.dt.tz is not None:
        dates = dates.dt.tz_localize(None)
    days = dates.dt.normalize()
    origin = days.min()
    times = ((days - origin) / pd.Timedelta(days=TIME_UNITS[time_unit])).to_numpy(dtype=float)
    return times, origin


def _parse_dates(column: pd.Series, date_format, name, where, source):
    """(dates, how they were read — for messages).

    One format for the whole column, inferred from its first value unless ``date_format`` is
    given (``"mixed"`` reads each value on its own, as pandas does). A day-month-year or
    month-day-year value such as 01/02/2020 is ambiguous: the format is the one of the two
    orders that reads every value, and if both do, crmsim asks rather than guesses.
    """
    if pd.api.types.is_datetime64_any_dtype(column):
        return column, ""
    if date_format is not None:
        return (_to_datetime(column, date_format),
                f"in {option('date_format')} {date_format!r}")
    present = column.dropna()
    if present.empty:
        return pd.Series(pd.NaT, index=column.index), ""
    sample = str(present.iloc[0])
    position = int(np.flatnonzero(column.notna().to_numpy())[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        month_first = guess_datetime_format(sample)
        day_first = guess_datetime_format(sample, dayfirst=True)
    if month_first is None:
        raise ScenarioError(f"{where(position)}: {name} {sample!r} is not a date in a format "
                            "pandas recognises; allowed: dates (say the format with "
                            f"{suggest('date_format', '...')}, e.g. '%d-%m-%y') or numbers",
                            source)
    year_first = month_first.startswith("%Y")
    if year_first or day_first is None or day_first == month_first:
        return _to_datetime(column, month_first),             f"in the format {month_first!r} of {where(position)} ({sample!r})"
    by_month, by_day = _to_datetime(column, month_first), _to_datetime(column, day_first)
    month_ok, day_ok = not by_month.isna().any(), not by_day.isna().any()
    if month_ok and day_ok and not by_month.equals(by_day):
        raise ScenarioError(f"{name} values such as {sample!r} ({where(position)}) read both as "
                            f"{month_first!r} and as {day_first!r}; say which with "
                            f"{suggest('date_format', day_first)} or "
                            f"{suggest('date_format', month_first)}", source)
    chosen = day_first if day_ok and not month_ok else month_first
    dates = by_day if chosen == day_first else by_month
    return dates, f"in the format {chosen!r} of {where(position)} ({sample!r})"


def _to_datetime(column: pd.Series, date_format: str) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        utc = "%z" in date_format or date_format == "mixed"
        try:
            dates = pd.to_datetime(column, format=date_format, errors="coerce", utc=utc)
        except (ValueError, TypeError):
            return pd.Series(pd.NaT, index=column.index)
    return dates


def _plain(value) -> str:
    """A value for a message: ``inf``, ``nan``, ``7``, ``'abc'`` (not ``np.float64(inf)``)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value)
