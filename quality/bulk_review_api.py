"""API of bulk decisions on the flag queue: POST /api/projects/{id}/flags/bulk/ (leads only)."""

from dataclasses import asdict

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from concord.params import ID_MAX
from concord.parsers import valid_input
from projects.permissions import Capability, ProjectScopedApi
from quality.models import Flag
from quality.selectors.flag_queue import FLAG_FILTERS
from quality.services.bulk_review import BULK_ACTIONS, flags_bulk_settle


class FlagBulkInput(serializers.Serializer):
    # The flag list's filters; when absent from the body, the query string's are used.
    # Checked by the list's own filter code (selectors.flag_queue.flags_filtered), with the same messages.
    kind = serializers.CharField(
        required=False, allow_blank=True, max_length=64,
        help_text=f"One of {', '.join(Flag.Kind.values)}.",
    )  # fmt: skip
    status = serializers.CharField(
        required=False, allow_blank=True, max_length=64,
        help_text=f"One of {', '.join(Flag.Status.values)}; only open flags are ever settled.",
    )  # fmt: skip
    labeler = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=ID_MAX,
        help_text="User id: the flags where this labeler is the one who deviates.",
    )  # fmt: skip
    label_class = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=ID_MAX, help_text="Class id."
    )
    action = serializers.ChoiceField(choices=sorted(BULK_ACTIONS))
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    dry_run = serializers.BooleanField(required=False, default=False)


class FlagBulkOutput(serializers.Serializer):
    count = serializers.IntegerField(help_text="Open flags the filters select, before the call.")
    settled = serializers.IntegerField(
        help_text="Flags settled, with those an accepted consensus settled along on the same "
        "images; 0 on a dry run."
    )
    skipped = serializers.IntegerField(
        help_text="Selected flags left open: their image's consensus cannot be accepted (a "
        "class tie); settle those one by one."
    )
    remaining = serializers.IntegerField(
        help_text="Selected flags still open; a call works on a bounded number of images, so "
        "call again while this is above skipped."
    )


class FlagBulkApi(ProjectScopedApi):
    """Settle every open flag that the list's filters select: accept the consensus or dismiss
    them (with a note), or with dry_run only count them."""

    required_capability = Capability.RESOLVE

    @extend_schema(request=FlagBulkInput, responses=FlagBulkOutput)
    def post(self, request, project_id):
        body = request.data.dict() if hasattr(request.data, "dict") else request.data
        if not isinstance(body, dict):
            raise serializers.ValidationError("Send a JSON object.")
        from_query = {name: request.query_params.get(name) for name in FLAG_FILTERS}
        data = {k: v for k, v in from_query.items() if v not in (None, "")} | body
        valid = valid_input(FlagBulkInput, data)
        outcome = flags_bulk_settle(
            project=self.project,
            user=request.user,
            filters={name: valid.get(name) for name in FLAG_FILTERS},
            action=valid["action"],
            note=valid["note"],
            dry_run=valid["dry_run"],
        )
        return Response(FlagBulkOutput(asdict(outcome)).data)
