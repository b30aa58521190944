"""Habits (#18): stored evidence folded into Pattern rows, the patterns API, one-step actions,
coaching figures, and what a labeler sees of their own habits in My work."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from quality.models import Flag, FlagLabeler, HabitEvidence, HabitPairEvidence, Pattern
from quality.services.review import RULE_PLACEHOLDER
from quality.services.summary import project_summarize
from quality.tasks import _summary_key, refresh_patterns_task, summarize_project_task
from tests.quality.habit_fixtures import habits_project, label_images, summarize

pytestmark = pytest.mark.django_db

OPEN = Flag.Status.OPEN


def api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def world(lead):
    world = habits_project(lead)
    world["images"] = label_images(world, 12, ann_misses=3)
    summarize(world["project"])
    return world


def habit_flags(world, kind="low_overlap", who="cho", cls="car"):
    mine = FlagLabeler.objects.filter(user=world[who], deviating=True).values("flag_id")
    return Flag.objects.filter(
        project=world["project"], kind=kind, label_class=world[cls], pk__in=mine
    )


def test_evidence_is_stored_per_image_when_assessed_and_folded_into_the_habit(world):
    images = world["images"]
    assert set(HabitEvidence.objects.values_list("image_id", flat=True)) == set(images)
    assert HabitPairEvidence.objects.count() == 0  # nobody gave another class
    patterns = list(Pattern.objects.filter(project=world["project"], found=True))
    keys = {(p.kind, p.labeler_id, p.label_class_id) for p in patterns}
    assert ("loose_boxes", world["cho"].pk, world["car"].pk) in keys
    # The honest labelers have no habit; ann's three missed trucks are too few to be one.
    assert not [p for p in patterns if p.labeler_id in (world["ann"].pk, world["bob"].pk)]
    loose = Pattern.objects.get(kind="loose_boxes", labeler=world["cho"])
    assert loose.support == 48  # 12 images x 4 cars
    assert 0.2 < loose.ci_low <= loose.strength <= loose.ci_high
    assert "bottom edge" in loose.size and "labeler_" not in loose.size
    assert 3 <= len(loose.example_flag_ids) <= 5
    assert set(loose.example_flag_ids) <= set(habit_flags(world).values_list("pk", flat=True))


def test_a_recompute_keeps_the_habit_and_its_decision(world, lead):
    loose = Pattern.objects.get(kind="loose_boxes", labeler=world["cho"])
    api(lead).post(f"/api/patterns/{loose.pk}/act/", {"action": "feedback", "note": "n"})
    summarize(world["project"])
    again = Pattern.objects.get(kind="loose_boxes", labeler=world["cho"])
    assert (again.pk, again.status, again.action) == (loose.pk, "acted", "feedback")


def test_patterns_api_lists_habits_for_leads_and_engineers_only(world, lead, engineer, outsider):
    project = world["project"]
    url = f"/api/projects/{project.pk}/patterns/"
    engineer_in = engineer  # a member of the conftest project only
    assert APIClient().get(url).status_code in (401, 403)
    assert api(world["cho"]).get(url).status_code == 403  # a labeler of this project
    assert api(outsider).get(url).status_code == 404
    assert api(engineer_in).get(url).status_code == 404  # not a member of this project
    response = api(lead).get(url)
    assert response.status_code == 200
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    row = next(r for r in rows if r["kind"] == "loose_boxes")
    assert row["labeler"] == "labeler_cho" and row["label_class"] == "car"
    assert set(row) >= {"id", "labeler", "kind", "label_class", "strength", "ci", "support",
                        "examples", "status", "size", "other_class", "decision", "before",
                        "after"}  # fmt: skip
    assert row["ci"][0] <= row["strength"] <= row["ci"][1] and row["status"] == "open"


def test_labelers_cannot_act_and_bad_input_is_a_json_error(world, lead):
    loose = Pattern.objects.get(kind="loose_boxes", labeler=world["cho"])
    url = f"/api/patterns/{loose.pk}/act/"
    for name in ("ann", "cho"):
        response = api(world[name]).post(url, {"action": "accept_consensus"}, format="json")
        assert response.status_code == 403
    assert api(lead).post("/api/patterns/999999/act/", {"action": "feedback"}).status_code == 404
    bad = api(lead).post(url, {"action": "shout"}, format="json")
    assert bad.status_code == 400 and "action" in bad.json()["errors"]
    assert api(lead).post(url, ["x"], format="json").status_code == 400
    assert habit_flags(world).filter(status=OPEN).count() == habit_flags(world).count()
    assert Pattern.objects.get(pk=loose.pk).status == "open"


def test_accept_consensus_settles_the_habits_flags_and_records_the_decision(world, lead):
    loose = Pattern.objects.get(kind="loose_boxes", labeler=world["cho"])
    habit = set(habit_flags(world).values_list("pk", flat=True))
    assert habit
    images = set(Flag.objects.filter(pk__in=habit).values_list("image_id", flat=True))
    elsewhere = set(
        Flag.objects.filter(project=world["project"], status=OPEN)
        .exclude(image_id__in=images)
        .values_list("pk", flat=True)
    )
    ann_missed = set(habit_flags(world, "missing", "ann", "truck").values_list("pk", flat=True))
    assert ann_missed and not ann_missed & habit
    response = api(lead).post(
        f"/api/patterns/{loose.pk}/act/", {"action": "accept_consensus"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    # Every flag of the habit is settled, by this decision, and marked with the habit.
    settled = Flag.objects.filter(pk__in=habit)
    assert set(settled.values_list("status", flat=True)) == {Flag.Status.RESOLVED}
    assert set(settled.values_list("pattern_id", flat=True)) == {loose.pk}
    assert set(settled.values_list("resolution", flat=True)) == {"accept_consensus"}
    # Flags on other images are untouched; on the habit's images, the image's other flags are
    # settled along (its consensus became the adjudication), as one decision on one flag.
    assert set(Flag.objects.filter(pk__in=elsewhere).values_list("status", flat=True)) <= {OPEN}
    marked = set(Flag.objects.filter(pattern=loose).values_list("pk", flat=True))
    assert habit <= marked
    assert set(Flag.objects.filter(pk__in=marked).values_list("image_id", flat=True)) == images
    assert body["settled"] == len(marked) and body["skipped"] == 0
    loose.refresh_from_db()
    assert (loose.status, loose.action, loose.decided_by) == ("acted", "accept_consensus", lead)
    assert loose.before_strength == pytest.approx(loose.strength)
    assert body["pattern"]["decision"]["action"] == "accept_consensus"


def test_clarify_answers_the_instructions_editor_prefilled_with_the_habit(world, lead):
    loose = Pattern.objects.get(kind="loose_boxes", labeler=world["cho"])
    response = api(lead).post(f"/api/patterns/{loose.pk}/act/", {"action": "clarify"})
    assert response.status_code == 200
    url = response.json()["redirect"]
    assert url.endswith(f"/patterns/{loose.pk}/instructions/")
    client = APIClient()
    client.force_login(lead)
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Worked example" in html and "How often" in html and "bottom edge" in html
    body = page.context["body"].replace(RULE_PLACEHOLDER, "Box the car to its bumper.")
    form = {"body": body, "summary": "Loose boxes", "note": "box to the bumper"}
    assert client.post(url, form).status_code == 302
    loose.refresh_from_db()
    assert (loose.status, loose.action) == ("acted", "clarify")
    assert Flag.objects.filter(pattern=loose, resolution="instructions").count() == 1
    # A labeler may not open the editor.
    labeler = APIClient()
    labeler.force_login(world["cho"])
    assert labeler.get(url).status_code == 403


def test_coaching_after_feedback_the_habit_falls_on_new_labels(world, lead):
    loose = Pattern.objects.get(kind="loose_boxes", labeler=world["cho"])
    response = api(lead).post(
        f"/api/patterns/{loose.pk}/act/", {"action": "feedback", "note": "Box to the bumper."}
    )
    assert response.status_code == 200
    loose.refresh_from_db()
    assert 3 <= len(loose.feedback_flag_ids) <= 5
    before = loose.before_strength
    label_images(world, 10, cho_loose=False)  # cho took the feedback
    summarize(world["project"])
    loose.refresh_from_db()
    assert loose.after_support == 40  # only the label sets submitted after the feedback
    assert loose.after_strength < before / 5
    # Still found over the whole project (its old labels), with before and after side by side.
    row = api(lead).get(f"/api/projects/{world['project'].pk}/patterns/").json()
    rows = row["results"] if isinstance(row, dict) else row
    shown = next(r for r in rows if r["id"] == loose.pk)
    assert shown["before"] == pytest.approx(before)
    assert shown["after"]["strength"] < before / 5 and shown["after"]["support"] == 40
    client = APIClient()
    client.force_login(lead)
    html = client.get(f"/projects/{world['project'].slug}/report/").content.decode()
    assert 'class="habit-before"' in html and 'class="habit-after"' in html


def test_my_work_shows_own_habit_with_feedback_and_only_own_boxes(world, lead):
    loose = Pattern.objects.get(kind="loose_boxes", labeler=world["cho"])
    note = "labeler_ann and labeler_bob box to the bumper; please do too."
    api(lead).post(f"/api/patterns/{loose.pk}/act/", {"action": "feedback", "note": note})
    client = APIClient()
    client.force_login(world["cho"])
    page = client.get(f"/projects/{world['project'].slug}/my-work/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="my-habits"' in html and "bottom edge" in html
    assert "box to the bumper" in html
    for name in ("labeler_ann", "labeler_bob"):
        assert name not in html
    assert "another labeler box to the bumper" in html  # names in the lead's note replaced
    # No coordinate of the others' boxes (ann's x and y are off by 1.25 and 0.75 px).
    assert 'x="41.25"' not in html and 'x="38.5"' not in html
    habits = page.context["habits"]
    assert len(habits[0]["examples"]) >= 3
    own = {b.pk for b in __import__("annotations.models").models.Box.objects.filter(
        annotation__labeler=world["cho"])}  # fmt: skip
    shown = {b["id"] for e in habits[0]["examples"] for b in e["own"]}
    assert shown and shown <= own
    assert all(e["consensus"] for e in habits[0]["examples"])
    # The honest labelers see no habit section at all.
    client.force_login(world["ann"])
    other = client.get(f"/projects/{world['project'].slug}/my-work/").content.decode()
    assert 'id="my-habits"' not in other and "labeler_cho" not in other


def test_report_lists_habits_with_evidence_and_actions(world, lead):
    client = APIClient()
    client.force_login(lead)
    html = client.get(f"/projects/{world['project'].slug}/report/").content.decode()
    assert 'id="habits"' in html and "labeler_cho" in html and "bottom edge" in html
    loose = Pattern.objects.get(kind="loose_boxes", labeler=world["cho"])
    for flag_id in loose.example_flag_ids:
        assert f"/flags/{flag_id}/" in html
    act = f"/projects/{world['project'].slug}/patterns/{loose.pk}/act/"
    assert act in html
    response = client.post(act, {"action": "accept_consensus"})
    assert response.status_code == 302
    assert not habit_flags(world).filter(status=OPEN).exists()
    # A labeler posting to the page is refused.
    labeler = APIClient()
    labeler.force_login(world["cho"])
    assert labeler.post(act, {"action": "feedback"}).status_code == 403


def test_the_stored_fold_finds_what_the_engine_finds_in_memory(world):
    """GROUP BY + SUM over the stored rows (ids) gives the same habits as folding the engine's
    evidence of one assessment of every image (names), to the last digit of their words."""
    from quality.engine import assess_batch
    from quality.engine.habits import fold, habit_evidence, habits_from_evidence
    from quality.selectors.habits import evidence_fold
    from quality.selectors.labels import images_labels

    stored = habits_from_evidence(evidence_fold(project=world["project"]))
    labels = images_labels(image_ids=world["images"])[0]
    memory = habits_from_evidence(fold(habit_evidence(assess_batch(labels.batch, labels.params))))
    ids = {u.username: u.pk for u in (world["ann"], world["bob"], world["cho"])}
    assert [(h.kind, h.labeler, h.label_class, h.size) for h in stored] == [
        (h.kind, ids[h.labeler], h.label_class, h.size) for h in memory
    ]
    assert [h.strength for h in stored] == pytest.approx([h.strength for h in memory])


def test_on_the_demo_the_recompute_chunks_store_what_one_assessment_finds(demo):
    """The demo is assessed by a recompute in chunks of 25 images: its stored evidence, folded,
    gives the same habits as one in-memory assessment of every image (its planted ones)."""
    from django.contrib.auth import get_user_model

    from quality.engine import assess_batch
    from quality.engine.habits import fold, habit_evidence, habits_from_evidence
    from quality.selectors.habits import evidence_fold
    from quality.selectors.labels import images_labels

    stored = habits_from_evidence(evidence_fold(project=demo))
    ids = list(demo.images.values_list("pk", flat=True))
    labels = images_labels(image_ids=ids)[0]
    memory = habits_from_evidence(fold(habit_evidence(assess_batch(labels.batch, labels.params))))
    users = dict(get_user_model().objects.values_list("username", "pk"))
    assert [(h.kind, h.labeler, h.label_class, h.size) for h in stored] == [
        (h.kind, users.get(h.labeler), h.label_class, h.size) for h in memory
    ]
    found = {(p.kind, p.labeler.username) for p in Pattern.objects.filter(project=demo)}
    assert {("loose_boxes", "cho"), ("grouping", "ann"), ("class_confusion", "bob")} <= found


def test_on_the_demo_habit_actions_and_one_bulk_action_settle_every_open_flag(demo):
    """Issue #18's measure (at the service level): every open flag of the demo is settled in at
    most 20 actions, here one per habit and bulk actions for what no habit explains."""
    from django.contrib.auth import get_user_model

    from quality.services.bulk_review import flags_bulk_settle
    from quality.services.pattern_actions import pattern_act

    lead = get_user_model().objects.get(username="lead")
    assert Flag.objects.filter(project=demo, status=OPEN).count() > 500
    actions = 0
    for pattern in Pattern.objects.filter(project=demo, found=True):
        pattern_act(pattern=pattern, user=lead, action="accept_consensus")
        actions += 1
    left = Flag.objects.filter(project=demo, status=OPEN)
    for kind in sorted(set(left.values_list("kind", flat=True))):
        outcome = flags_bulk_settle(
            project=demo, user=lead, filters={"kind": kind}, action="dismiss", note="checked"
        )
        assert outcome.remaining == 0
        actions += 1
    assert not Flag.objects.filter(project=demo, status=OPEN).exists()
    assert actions <= 20
    # The habits' decisions are on their flags.
    assert Flag.objects.filter(project=demo, pattern__isnull=False).count() > 500


@pytest.mark.usefixtures("empty_cache")
def test_the_summary_task_refreshes_the_habits_after_the_figures(lead):
    """The report's figures never wait for the habits: project_summarize leaves Pattern rows
    alone, and the summary task schedules their refresh (run at once here: tasks are eager)."""
    world = habits_project(lead)
    label_images(world, 12)
    project = world["project"]
    project_summarize(project=project)
    assert not Pattern.objects.filter(project=project).exists()
    summarize_project_task(project.pk)
    assert Pattern.objects.filter(
        project=project, kind="loose_boxes", labeler=world["cho"]
    ).exists()


@pytest.mark.usefixtures("empty_cache")
def test_a_habits_refresh_asked_while_one_runs_waits_for_it(lead):
    world = habits_project(lead)
    label_images(world, 12)
    project = world["project"]
    project_summarize(project=project)
    cache.add(_summary_key(project.pk, "patterns-running"), 1)  # another worker is refreshing

    refresh_patterns_task(project.pk)

    assert not Pattern.objects.filter(project=project).exists()  # not twice at once
    assert cache.get(_summary_key(project.pk, "patterns-again"))  # ... but not forgotten
    cache.delete(_summary_key(project.pk, "patterns-running"))

    refresh_patterns_task(project.pk)  # it runs; the one asked meanwhile is scheduled (eager)

    assert Pattern.objects.filter(
        project=project, kind="loose_boxes", labeler=world["cho"]
    ).exists()
    assert cache.get(_summary_key(project.pk, "patterns-again")) is None
