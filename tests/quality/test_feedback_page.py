"""My work shows the labeler the lead's decisions on their own flags (read by the view)."""

from quality.services.review import flag_resolve


def test_my_work_shows_only_my_settled_flags_with_the_leads_note(
    client, project, results, lead, labeler_a, labeler_b
):
    flag_resolve(flag=results["low"], user=lead, resolution="dismissed", note="Both fine.")
    client.force_login(labeler_a)
    html = client.get(f"/projects/{project.slug}/my-work/").content.decode()
    assert f'data-flag="{results["low"].pk}"' in html and "Both fine." in html
    assert f'data-flag="{results["conflict"].pk}"' not in html  # not settled yet
    assert "labeler_b" not in html
