"""Login for pages and API tokens, both throttled after repeated failures."""

from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from rest_framework import status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response
from rest_framework.settings import api_settings

from concord import ratelimit


class ThrottledLoginView(auth_views.LoginView):
    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "")
        address = ratelimit.client_address(request)
        if ratelimit.login_blocked(username, address):
            return HttpResponse(ratelimit.lockout_message(), status=429, content_type="text/plain")
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        ratelimit.login_failed(
            self.request.POST.get("username", ""), ratelimit.client_address(self.request)
        )
        return super().form_invalid(form)

    def form_valid(self, form):
        ratelimit.login_succeeded(
            form.get_user().get_username(), ratelimit.client_address(self.request)
        )
        return super().form_valid(form)


class ThrottledTokenView(ObtainAuthToken):
    """POST username + password -> {"token"}; a few failures per username and address, then 429."""

    parser_classes = api_settings.DEFAULT_PARSER_CLASSES  # DRF's view names its own: not strict

    def post(self, request, *args, **kwargs):
        if not hasattr(request.data, "get"):
            return Response(
                {
                    "detail": 'Send {"username": ..., "password": ...} as a JSON object or form fields.'
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        username = str(request.data.get("username", ""))
        address = ratelimit.client_address(request)
        if ratelimit.login_blocked(username, address):
            return Response(
                {"detail": ratelimit.lockout_message()}, status=status.HTTP_429_TOO_MANY_REQUESTS
            )
        serializer = self.get_serializer(data=request.data)
        if not serializer.is_valid():
            ratelimit.login_failed(username, address)
            return Response(
                {"detail": "That username and password do not match.", "errors": serializer.errors},
                status=status.HTTP_400_BAD_REQUEST,
            )
        ratelimit.login_succeeded(username, address)
        token, _ = self.get_token_model().objects.get_or_create(
            user=serializer.validated_data["user"]
        )
        return Response({"token": token.key})

    def get_token_model(self):
        from rest_framework.authtoken.models import Token

        return Token
