"""The image review screen: all of one image's flags over the image, settled together or one by
one, then the next image of the queue (leads; engineers look)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Case, Value, When
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from concord.params import id_value
from projects.models import Image
from projects.permissions import Capability, has_capability, project_for, require
from quality.models import Flag, flag_impact_rank
from quality.selectors import flag_queue
from quality.services import review
from quality.services.bulk_review import image_flags_settle
from quality.views import image_review_url, queue_filters, queue_query, resolution_input


@login_required
@require_http_methods(["GET", "POST"])
def image_review(request, slug, image_id):
    project = project_for(request, slug, Capability.READ_RESULTS)
    image = get_object_or_404(Image.objects.select_related("project"), pk=image_id, project=project)
    filters = queue_filters(request.GET)
    queue = flag_queue.flags_filtered(project=project, filters=filters)  # refuses bad ones
    previous_image, next_image = flag_queue.image_neighbours(
        image_id=image.pk, queryset=queue, order=filters["order"]
    )
    if request.method == "POST":
        require(request.user, project, Capability.RESOLVE)
        try:
            text = _decide(request, image)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(image_review_url(project, image.pk, filters))
        messages.success(request, text)
        if Flag.objects.filter(image=image, status=Flag.Status.OPEN).exists():
            return redirect(image_review_url(project, image.pk, filters))
        if next_image:
            return redirect(image_review_url(project, next_image, filters))
        return redirect(reverse("quality:flags", args=[project.slug]) + queue_query(filters))
    # Open first, then by impact, as the queue.
    flags = list(
        flag_queue.flag_list_rows(
            Flag.objects.filter(image=image).exclude(status=Flag.Status.SUPERSEDED)
        ).order_by(
            Case(When(status=Flag.Status.OPEN, then=Value(0)), default=Value(1)),
            flag_impact_rank(),
            "id",
        )
    )
    open_count = sum(f.status == Flag.Status.OPEN for f in flags)
    return render(
        request,
        "quality/image_review.html",
        {
            "project": project,
            "image": image,
            "flags": flags,
            "open_count": open_count,
            "data": review.image_review_data(image=image, flags=flags),
            "query": queue_query(filters),
            "previous_url": previous_image and image_review_url(project, previous_image, filters),
            "next_url": next_image and image_review_url(project, next_image, filters),
            "list_url": reverse("quality:flags", args=[project.slug]) + queue_query(filters),
            "can_resolve": has_capability(request.user, project, Capability.RESOLVE),
        },
    )


def _decide(request, image: Image) -> str:
    """The decision the form posted: on one flag ("flag": its id) or on all the image's open
    flags ("flag": "all"); a sentence that says what it settled."""
    data = resolution_input(request)
    target = request.POST.get("flag", "")
    if target == "all":
        settled = image_flags_settle(image=image, user=request.user, **data)
        return f"{image.original_name}: {settled} flag{'s' if settled != 1 else ''} settled."
    flag = Flag.objects.filter(image=image, pk=id_value(target) or 0).first()
    if flag is None:
        raise ValidationError("That flag is not on this image.")
    if flag.status != Flag.Status.OPEN:
        raise ValidationError(f"Flag #{flag.pk} is already settled.")
    review.flag_resolve(flag=flag, user=request.user, **data)
    return f"Flag #{flag.pk} settled."
