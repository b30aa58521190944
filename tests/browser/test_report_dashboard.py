"""The agreement report renders its charts from the demo project's stored results."""

import time

import pytest
from django.core.management import call_command

from projects.models import Project
from quality.models import ProjectAgreement
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dashboard_renders_charts_with_data_on_the_demo_project(page, login):
    call_command("demo", stdout=open("/dev/null", "w"))  # noqa: SIM115 - quiet demo
    project = Project.objects.get(slug="street-scenes")
    assert ProjectAgreement.objects.filter(project=project).exists(), "demo ends with a recompute"
    login("lead", "concord-demo")
    started = time.monotonic()
    page.goto(f"/projects/{project.slug}/report/")
    page.wait_for_selector("#chart-sweep[data-points]")
    loaded = time.monotonic() - started
    for chart in ("chart-sweep", "chart-histogram", "chart-flags", "chart-versions"):
        points = page.get_attribute(f"#{chart}", "data-points")
        assert int(points) > 0, chart
        box = page.locator(f"#{chart}").bounding_box()
        assert box["width"] > 200 and box["height"] > 100, chart
    assert page.locator("#confusion td.off").count() >= 1  # car and truck get mixed up
    assert page.locator("#labelers tbody tr").count() == 3
    assert page.locator(".worst-item").count() >= 6
    assert "Where labelers disagree" in page.content()
    assert page.locator("#progress-as-of").count() == 0  # current: no "as of" (#15)
    for chart in ("chart-sweep", "chart-histogram", "chart-flags", "chart-versions"):
        page.wait_for_selector(f"#{chart}[data-drawn]")  # bars grown to their values
    screenshot(page, "report")
    assert loaded < 3, f"the report took {loaded:.2f}s to load"
    page.locator(".worst-item").first.click()
    page.wait_for_selector("#stage[data-ready]")
    assert page.locator("#layer .box").count() > 0
    page.wait_for_function("() => document.getElementById('stage-image').complete")
    screenshot(page, "review")
