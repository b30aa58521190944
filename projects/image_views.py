"""The image browser: a page of thumbnails with state, agreement and open flags; one image with
every labeler's boxes; deleting an image after saying what goes with it.

Leads and engineers browse (they read results: every labeler's boxes); only leads delete.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.functional import cached_property
from django.views.decorators.http import require_http_methods, require_safe

from projects import images as image_selectors
from projects.models import Image
from projects.permissions import Capability, has_capability, project_for
from projects.thumbnails import thumbnail_open
from quality.models import Flag
from quality.services.review import image_labels_data
from quality.views import CappedPaginator

IMAGES_PER_PAGE = 48


class ImagePaginator(CappedPaginator):
    """Counts the filtered images without their per-row columns or their order."""

    @cached_property
    def count(self) -> int:
        counted = self.object_list.order_by().values("pk")[: self.cap + 1].count()
        return min(counted, self.cap + 1)


FILTERS = ("state", "agreement", "flags", "sort", "q")


@login_required
@require_safe
def image_list(request, slug):
    project = project_for(request, slug, Capability.READ_RESULTS)
    filters = {name: request.GET.get(name, "") for name in FILTERS}
    page = ImagePaginator(
        image_selectors.images_browse(project=project, filters=filters), IMAGES_PER_PAGE
    ).get_page(request.GET.get("page"))
    states = [image_selectors.image_state(image, project) for image in page]
    rows = [(i, s, image_selectors.STATES[s]) for i, s in zip(page, states, strict=True)]
    query = urlencode({k: v for k, v in filters.items() if v})
    return render(
        request,
        "projects/images.html",
        {
            "project": project,
            "page": page,
            "rows": rows,
            "filters": filters,
            "query": f"?{query}" if query else "",
            "states": image_selectors.STATES,
            "agreement_choices": {k: v[0] for k, v in image_selectors.AGREEMENT_FILTERS.items()},
            "flag_choices": {k: v[0] for k, v in image_selectors.FLAG_FILTERS.items()},
            "sorts": {k: v[0] for k, v in image_selectors.SORTS.items()},
            "assessed_only": image_selectors.SORTS.get(filters["sort"], ("", "", False))[2],
            "can_manage": has_capability(request.user, project, Capability.MANAGE),
            "filtered": any(filters[k] for k in ("state", "agreement", "flags", "q")),
        },
    )


def _image(project, image_id) -> Image:
    return get_object_or_404(
        Image.objects.select_related("agreement", "project"), pk=image_id, project=project
    )


@login_required
@require_safe
def image_detail(request, slug, image_id):
    project = project_for(request, slug, Capability.READ_RESULTS)
    image = _image(project, image_id)
    flags = (
        Flag.objects.filter(image=image)
        .exclude(status=Flag.Status.SUPERSEDED)
        .order_by("status", "id")
        .only("id", "kind", "status", "message", "image_id")
    )
    return render(
        request,
        "projects/image_detail.html",
        {
            "project": project,
            "image": image,
            "agreement": getattr(image, "agreement", None),
            "flags": flags,
            "data": image_labels_data(image=image),
            "back_url": reverse("projects:images", args=[project.slug])
            + _back_query(request.GET.get("back", "")),
            "back": request.GET.get("back", ""),
            "can_manage": has_capability(request.user, project, Capability.MANAGE),
        },
    )


def _back_query(back: str) -> str:
    """The list's own query string, carried through the image's pages (only its filters)."""
    from django.http import QueryDict

    params = QueryDict(back)
    kept = {k: params.get(k) for k in (*FILTERS, "page") if params.get(k)}
    return f"?{urlencode(kept)}" if kept else ""


@login_required
@require_http_methods(["GET", "POST"])
def image_delete(request, slug, image_id):
    """GET: what deleting the image removes, and a confirm button; POST: delete it."""
    project = project_for(request, slug, Capability.MANAGE)
    image = _image(project, image_id)
    back = request.POST.get("back", request.GET.get("back", ""))
    if request.method == "POST":
        name = image.original_name
        effects = image_selectors.image_delete(image=image)
        messages.success(
            request,
            f"Deleted {name} with {effects['label_sets']} label sets, {effects['boxes']} boxes "
            f"and {effects['flags']} flags.",
        )
        return redirect(reverse("projects:images", args=[project.slug]) + _back_query(back))
    return render(
        request,
        "projects/image_delete.html",
        {
            "project": project,
            "image": image,
            "effects": image_selectors.image_delete_effects(image=image),
            "back": back,
        },
    )


@login_required
@require_safe
def image_thumb(request, slug, image_id):
    """A small JPEG of the image, for those who browse the project's images."""
    project = project_for(request, slug, Capability.READ_RESULTS)
    image = get_object_or_404(
        Image.objects.only("id", "project_id", "sha256", "file"), pk=image_id, project=project
    )
    try:
        response = FileResponse(thumbnail_open(image=image), content_type="image/jpeg")
    except FileNotFoundError:
        raise Http404("The image file is missing from storage.") from None
    except OSError:
        raise Http404("The image file could not be read to make a preview.") from None
    response["Cache-Control"] = "private, max-age=86400"
    return response
