"""/api/auth/token/: the caller's API token. GET shows it, POST (re)creates it, DELETE revokes it.

POST with a username and password is how a client without a session gets its token (throttled
like the login page); it answers the user's working token, or a new one when there is none.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import tokens
from concord import ratelimit


class TokenOutput(serializers.Serializer):
    token = serializers.CharField(
        allow_null=True, help_text="Send it as 'Authorization: Token <key>'."
    )
    created = serializers.DateTimeField(allow_null=True)
    expires = serializers.DateTimeField(
        allow_null=True, help_text="When the key stops working (null: never, API_TOKEN_TTL_DAYS=0)."
    )


class CredentialsInput(serializers.Serializer):
    username = serializers.CharField(required=False)
    password = serializers.CharField(required=False)


def token_payload(token) -> dict:
    if token is None:
        return {"token": None, "created": None, "expires": None}
    return {"token": token.key, "created": token.created, "expires": tokens.token_expires_at(token)}


class TokenApi(APIView):
    throttle_classes = ()  # the login throttle of concord.ratelimit applies to credentials

    def get_permissions(self):
        if self.request.method == "POST":
            return [permissions.AllowAny()]
        return [permissions.IsAuthenticated()]

    @extend_schema(summary="Show the caller's API token", responses=TokenOutput)
    def get(self, request):
        return Response(TokenOutput(token_payload(tokens.token_of(user=request.user))).data)

    @extend_schema(
        summary="Get a token with a username and password, or a new token for the caller",
        description=(
            "With `username` and `password`: the user's working token (a new one if they have "
            "none or it expired). Without them, authenticated by session or token: a new key; "
            "the old one stops working."
        ),
        request=CredentialsInput,
        responses={
            200: TokenOutput,
            400: OpenApiResponse(description="The username and password do not match."),
            429: OpenApiResponse(description="Too many failed logins for this username."),
        },
    )
    def post(self, request):
        if not hasattr(request.data, "get"):
            return Response(
                {
                    "detail": 'Send {"username": ..., "password": ...} as a JSON object or form fields.'
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        if "username" in request.data or "password" in request.data:
            return self._with_credentials(request)
        if not request.user.is_authenticated:
            return Response(
                {"detail": 'Send {"username": ..., "password": ...}, or log in first.'},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(TokenOutput(token_payload(tokens.token_create(user=request.user))).data)

    @extend_schema(summary="Revoke the caller's API token", request=None, responses={204: None})
    def delete(self, request):
        tokens.tokens_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _with_credentials(self, request):
        username = str(request.data.get("username", ""))
        address = ratelimit.client_address(request)
        if ratelimit.login_blocked(username, address):
            return Response(
                {"detail": ratelimit.lockout_message()}, status=status.HTTP_429_TOO_MANY_REQUESTS
            )
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        if not serializer.is_valid():  # a wrong password is counted by accounts.signals
            return Response(
                {"detail": "That username and password do not match.", "errors": serializer.errors},
                status=status.HTTP_400_BAD_REQUEST,
            )
        user = serializer.validated_data["user"]
        ratelimit.login_succeeded(user.get_username(), address)
        return Response(TokenOutput(token_payload(tokens.token_obtain(user=user))).data)
