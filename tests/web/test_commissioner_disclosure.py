"""No commissioner page or download ever shows a suppressed value: every page and every
download a commissioner can open, for every condition, scanned."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from django.test import RequestFactory

from carevalue.snapshots import current_snapshot
from carevalue.web import results as web_results
from carevalue.web.pages import pages
from carevalue.web.permissions import has_permission
from carevalue.web.views import build_page, page_context

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _commissioner_pages(user, condition):
    return [s for s in pages().values() if has_permission(user, s.permission, condition=condition)]


def test_every_commissioner_panel_and_download_is_suppressed(results, make_user, client):
    commissioner = make_user("commissioner")
    client.force_login(commissioner)
    snapshot = current_snapshot(results)
    packs = web_results.packs(snapshot)
    patient_ids = set(snapshot.table("episode_value")["patient_id"].astype(str))
    factory = RequestFactory()
    checked = 0
    for condition, pack in packs.items():
        allowed = _commissioner_pages(commissioner, condition)
        assert "patients" not in {s.slug for s in allowed}
        for spec in allowed:
            for query in ("", "?site=North", "?group=sex:female"):
                request = factory.get(f"/c/{condition}/{spec.slug}/{query}")
                request.user = commissioner
                ctx = page_context(request, snapshot, condition)
                assert ctx.secondary_suppression and not ctx.patient_level
                page = build_page(ctx, spec)
                html = client.get(f"/c/{condition}/{spec.slug}/{query}").content.decode()
                assert not any(p in html for p in list(patient_ids)[:200])
                for panel in page.panels:
                    assert not panel.patients
                    rule = panel.disclosure
                    if rule is None or panel.table.empty:
                        continue
                    table = panel.table
                    counts = pd.to_numeric(table[rule.count], errors="coerce").fillna(0)
                    small = counts < pack.reporting.min_cell
                    for figure in rule.figures:
                        if figure in table.columns:
                            shown = table.loc[small, figure]
                            assert shown.isna().all() | (shown.astype("string") == "").all(), (
                                condition,
                                spec.slug,
                                panel.id,
                                figure,
                            )
                    groups = table.groupby(list(rule.within)) if rule.within else [((), table)]
                    for _, group in groups:
                        assert int(group["suppressed"].eq(True).sum()) != 1 or len(group) == 1, (
                            condition,
                            spec.slug,
                            panel.id,
                        )
                    download = client.get(f"/c/{condition}/{spec.slug}/{panel.id}.csv{query}")
                    assert download.status_code == 200
                    body = pd.read_csv(io.StringIO(download.content.decode()), comment="#")
                    assert len(body) == len(table)
                    checked += 1
    assert checked > 10
