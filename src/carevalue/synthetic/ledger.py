"""The trust's general ledger, consistent with its activity.

For each month and patient-facing cost centre, pay and non-pay lines add up to the cost of
the activity that started in that month (catalogue unit cost x quantity + minute cost x
minutes), split into pay and non-pay by each item's pay share, with each line moved by up to
±3% (:data:`LINE_NOISE`) as real ledgers do not match activity exactly. The ledger follows the
true activity: the second copies of duplicated rows are not in it, and rows with a corrupted
date are in it under their true month.

On top: overhead cost centres (estates, IT, finance, HR: 18% of direct cost, expense_type
'overhead'), excluded lines (education and training, research: expense_type 'excluded') and
income lines (negative amounts, expense_type 'income').
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from carevalue.synthetic import catalogue
from carevalue.synthetic.catalogue import COST_CENTRES, EXPENSE_CODES
from carevalue.synthetic.timeline import N_MONTHS, month_index, period_labels

LINE_NOISE = 0.03
# Lines that scale with the month's direct cost: (cost centre, expense code, share).
OVERHEAD_SHARES: tuple[tuple[str, str, float], ...] = (
    ("CC9001", "E3010", 0.09),
    ("CC9002", "E3020", 0.04),
    ("CC9003", "E3030", 0.025),
    ("CC9004", "E3040", 0.025),
)
EXCLUDED_SHARES: tuple[tuple[str, str, float], ...] = (
    ("CC9101", "E4010", 0.025),
    ("CC9102", "E4020", 0.015),
)
INCOME_SHARES: tuple[tuple[str, str, float], ...] = (
    ("CC9101", "E5010", -0.028),
    ("CC9102", "E5020", -0.017),
    ("CC9001", "E5030", -0.004),
)
OVERHEAD_SHARE = sum(s for _, _, s in OVERHEAD_SHARES)


class LedgerAccumulator:
    """Sums activity cost by month, cost centre and expense code, chunk by chunk."""

    def __init__(self) -> None:
        self.cost = np.zeros((N_MONTHS, len(COST_CENTRES), len(catalogue.EXPENSE_CODE_LIST)))

    def add(
        self, item: np.ndarray, start: np.ndarray, minutes: np.ndarray, quantity: np.ndarray
    ) -> None:
        item = item.astype(np.int64)
        cost = catalogue.activity_cost(item, minutes, quantity)
        month = np.clip(month_index(start), 0, N_MONTHS - 1)
        centre = catalogue.ITEM_COST_CENTRE[item]
        pay = cost * catalogue.PAY_SHARE[item]
        np.add.at(self.cost, (month, centre, catalogue.ITEM_PAY_EXPENSE[item]), pay)
        np.add.at(self.cost, (month, centre, catalogue.ITEM_NON_PAY_EXPENSE[item]), cost - pay)

    def direct_cost(self) -> float:
        return float(self.cost.sum())

    def table(self, rng: np.random.Generator, schema: pa.Schema) -> pa.Table:
        periods = period_labels()
        rows: list[tuple[str, str, str, float]] = []
        for m, period in enumerate(periods):
            direct = self.cost[m]
            for c, centre in enumerate(COST_CENTRES):
                for e, code in enumerate(catalogue.EXPENSE_CODE_LIST):
                    if direct[c, e] > 0:
                        rows.append((period, centre.code, code, direct[c, e]))
            month_total = float(direct.sum())
            for centre_code, code, share in OVERHEAD_SHARES + EXCLUDED_SHARES + INCOME_SHARES:
                rows.append((period, centre_code, code, share * month_total))
        rows.sort(key=lambda r: (r[0], r[1], r[2]))
        noise = 1 + rng.uniform(-LINE_NOISE, LINE_NOISE, len(rows))
        amount = np.round(np.array([r[3] for r in rows]) * noise, 2)
        names = {cc.code: cc.name for cc in COST_CENTRES}
        columns = {
            "period": pa.array([r[0] for r in rows]),
            "cost_centre": pa.array([r[1] for r in rows]),
            "expense_code": pa.array([r[2] for r in rows]),
            "expense_type": pa.array([EXPENSE_CODES[r[2]][1] for r in rows]),
            "amount": pa.array(amount),
            "cost_centre_name": pa.array([names[r[1]] for r in rows]),
            "expense_name": pa.array([EXPENSE_CODES[r[2]][0] for r in rows]),
        }
        return pa.Table.from_arrays([columns[f.name] for f in schema], schema=schema)
