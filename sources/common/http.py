"""The one HTTP layer every provider uses: dlt's RESTClient over dlt's retrying Client.

- 429 and 5xx are retried with exponential backoff, honouring ``Retry-After``; connection resets,
  timeouts and bodies that are not JSON (truncated or garbled) are retried the same way. Attempts
  and delays come from dlt's ``[runtime]`` settings (``request_max_attempts``,
  ``request_backoff_factor``, ``request_max_retry_delay``, ``request_timeout``).
- Every attempt is paced by the provider's ``RateLimiter`` (``sources.common.ratelimit``), shared
  by all workers: ``[sources.<provider>] requests_per_second`` and ``burst``, adapted from
  ``Retry-After`` and rate-limit headers.
- Whatever still fails becomes a ``ProviderError`` naming the provider and the cause; a
  provider-specific ``ErrorClassifier`` decides which (e.g. OwlBot's HTTP 400 "No verify" is a
  credentials error). Messages never contain headers, so keys never reach a log or a terminal.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from typing import Any, Final
from urllib.parse import urlsplit
from urllib.request import getproxies

import dlt
import orjson
from dlt.common.runtime import signals
from dlt.sources.helpers.requests.session import Session
from dlt.sources.helpers.rest_client.client import PageData, RESTClient
from dlt.sources.helpers.rest_client.paginators import BasePaginator, SinglePagePaginator
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from requests.exceptions import ChunkedEncodingError, ConnectionError, HTTPError, SSLError, Timeout
from tenacity import Retrying, retry_any, retry_if_exception

from .dlt_internals import DEFAULT_RETRY_EXCEPTIONS, SessionFinishingClient, retry_if_status
from .errors import (
    AccessDeniedError,
    ConfigurationError,
    CredentialsError,
    EndpointUnreachableError,
    MalformedResponseError,
    NotFoundError,
    ProviderError,
    ProviderUnavailableError,
    RequestRejectedError,
    WrongEndpointError,
    where_to_set,
)
from .observer import RunObserver
from .payload import might_hold_unstorable_text, select_list, storable
from .ratelimit import RateLimiter, limiter_for
from .secrets import echoes_secret, register, scrub_value

ErrorClassifier = Callable[[str, Response], ProviderError]


def _key_of(auth: AuthBase) -> str | None:
    key = getattr(auth, "token", None) or getattr(auth, "api_key", None)
    return None if key is None else str(key)


def configured_rate(provider: str) -> tuple[float | None, float | None]:
    """``[sources.<provider>] requests_per_second`` and ``burst``: positive numbers, or None.

    Raises:
        ConfigurationError: A value that is not a positive number.
    """
    values: list[float | None] = []
    for name in ("requests_per_second", "burst"):
        raw: Any = dlt.config.get(f"sources.{provider}.{name}")
        try:
            value = None if raw in (None, "") else float(raw)
        except (TypeError, ValueError):
            value = -1.0
        if value is not None and value <= 0:
            where = where_to_set(provider, name)
            raise ConfigurationError(f"{provider}: {name} must be a positive number; set {where}")
        values.append(value)
    return values[0], values[1]


class _UnparsableBody(Exception):
    """A 2xx body that is not JSON; retried like a dropped connection."""


class _TooDeep(Exception):
    """A body nested too deeply to parse; the same every time, so not retried."""


def interruptible_sleep(seconds: float) -> None:
    """A retry backoff that ends at once when SIGINT or SIGTERM arrives (dlt's signal handler)."""
    signals.raise_if_signalled()
    signals.exit_event.wait(seconds)
    signals.raise_if_signalled()


def unreachable_reason(exc: BaseException, answered_before: bool) -> str | None:
    """Why a connection failure can never succeed by retrying, or None when it is transient.

    A DNS failure, a TLS failure (often ``https`` against an ``http`` server) and a refused
    connection before the endpoint ever answered are configuration problems, not outages.
    """
    if isinstance(exc, SSLError):
        return "TLS handshake failed (is the scheme right: http or https?)"
    if not isinstance(exc, ConnectionError):
        return None
    text = str(exc)
    if any(sign in text for sign in ("NameResolutionError", "Failed to resolve", "Name or service not known")):
        return "the host name does not resolve (DNS)"
    if "Connection refused" in text and not answered_before:
        return "connection refused (nothing listens there)"
    return None


def environment_settings() -> tuple[bool, str | None]:
    """Whether sessions must read the environment per request, and the CA bundle it names.

    requests reads every variable of the environment for proxies on each request (twice through
    dlt's RESTClient), about a fifth of the CPU a request costs. Unless a proxy is configured, the
    environment is read once here instead: sessions get ``trust_env=False`` and the CA bundle of
    ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE``, as requests would have used it.

    Returns:
        ``(trust_env, ca_bundle)``.
    """
    if getproxies():
        return True, None
    return False, os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None


POOL_SIZE: Final = 50  # connections kept per host: dlt's Client default


class PoolKeyCachingAdapter(HTTPAdapter):
    """requests' adapter, building each host's connection-pool key once instead of per request.

    With a CA bundle path set (``REQUESTS_CA_BUNDLE``), requests stats it (``os.path.isdir``) on
    every request to build the key: about 5% of a worker's time against a fast API. The key of a
    scheme, host, bundle and client certificate does not change during a run.
    """

    def __init__(self) -> None:
        super().__init__(pool_maxsize=POOL_SIZE)
        self._keys: dict[tuple[str, str, Any, Any], tuple[Any, Any]] = {}  # requests types them privately

    def build_connection_pool_key_attributes(
        self, request: PreparedRequest, verify: bool | str, cert: str | tuple[str, str] | None = None
    ) -> tuple[Any, Any]:
        """The pool key of ``request``'s host, from the cache (copies: requests may change them)."""
        parts = urlsplit(request.url or "")
        key = (parts.scheme, parts.netloc, verify, cert)
        if key not in self._keys:
            self._keys[key] = super().build_connection_pool_key_attributes(request, verify, cert)
        host_params, pool_kwargs = self._keys[key]
        return host_params.copy(), pool_kwargs.copy()


class _RetryingClient(SessionFinishingClient):
    """dlt's retrying client, told what never to retry and how to stop sleeping.

    Back-off sleeps end when SIGINT or SIGTERM arrives (a ``Retry-After: 60`` would otherwise hold
    Ctrl-C for a minute), connection failures that cannot succeed are not retried, and every
    attempt waits for the rate limiter (see ``sources.common.dlt_internals`` for why a subclass).
    """

    answered = False  # set once the endpoint has answered at all
    trust_env = True  # see ``environment_settings``
    ca_bundle: str | None = None
    limiter: RateLimiter | None = None

    def _transient(self, exc: BaseException) -> bool:
        retried = isinstance(exc, tuple(self.retry_settings["exceptions"]))
        return retried and unreachable_reason(exc, self.answered) is None

    def make_adapter(self, configured: HTTPAdapter) -> HTTPAdapter:
        """One that builds each host's pool key once (``PoolKeyCachingAdapter``)."""
        return PoolKeyCachingAdapter()

    def finish_session(self, session: Session, retry: Retrying) -> Session:
        """Trust in the environment, the CA bundle, the interruptible and paced retry."""
        session.trust_env = self.trust_env
        if self.ca_bundle:
            session.verify = self.ca_bundle
        retry = retry.copy(
            sleep=interruptible_sleep,
            retry=retry_any(retry_if_status(self.retry_settings["status_codes"]), retry_if_exception(self._transient)),
        )
        session.send = retry.wraps(self._paced(session.send))  # type: ignore[method-assign]
        return session

    def _paced(self, send: Callable[..., Response]) -> Callable[..., Response]:
        """Each attempt waits for the limiter's token, and tells it how the provider answered."""
        limiter = self.limiter
        if limiter is None:
            return send

        def paced_send(*args: Any, **kwargs: Any) -> Response:
            limiter.acquire()
            try:
                response = send(*args, **kwargs)
            except HTTPError as refused:  # the response hook raises for every status >= 400
                limiter.observe(refused.response.status_code, refused.response.headers)
                raise
            except BaseException:
                limiter.release()
                raise
            limiter.observe(response.status_code, response.headers)
            return response

        return paced_send


class ParsedResponse(Response):
    """A response whose JSON body was parsed once, on arrival (and scrubbed): ``json()`` returns it.

    requests replaces a response with what a response hook returns, so the hook hands this on.
    """

    def __init__(self, response: Response, parsed: Any) -> None:
        super().__init__()
        self.__dict__.update(response.__dict__)
        self.parsed = parsed

    def json(self, **kwargs: Any) -> Any:
        """The body as parsed on arrival."""
        return self.parsed


WHOLE_BODY: Final = "<the whole body, one object>"  # a data selector: an API answering with one record


class _ShapeCheckingRESTClient(RESTClient):
    """Selects records with a plain dotted path and insists on a list.

    dlt's own selection turns ``null`` into ``[]`` and an object into ``[object]``, which hides
    a broken payload, and compiles a JSONPath on every response.
    """

    provider: str = ""

    def extract_response(self, response: Response, data_selector: Any) -> list[Any]:
        """The list at ``data_selector`` (``WHOLE_BODY``: the body, one object); a ``MalformedResponseError``
        when there is none."""
        body = response.json()
        if data_selector == WHOLE_BODY:
            if not isinstance(body, dict):
                raise MalformedResponseError(self.provider, "the answer is not a JSON object")
            return [body]
        return select_list(self.provider, body, str(data_selector))


_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_TWENTY_DIGITS = b"0" * 20


def _has_long_digit_run(body: bytes) -> bool:
    # fourteen times faster than re.search(rb"\d{20}", body), which cost more than orjson's parse
    return _TWENTY_DIGITS in body.translate(_DIGITS_AS_ZERO)


_ORJSON_MAX_BODY = 4 * 1024 * 1024


def _parsed_body(response: Response) -> Any:
    """The JSON body, parsed by orjson (several times faster than requests' parser).

    What orjson refuses (an escaped lone surrogate, nesting past 1024) goes to the standard
    parser, which decides as before; so does a body with a 20-digit run, since orjson reads an
    integer past 64 bits as an imprecise float, and a body over 4 MB (a listing of every
    session): orjson builds a whole document tree first, about 15 times the body at its peak.
    """
    body = response.content
    if len(body) <= _ORJSON_MAX_BODY and not _has_long_digit_run(body):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    try:
        return response.json()
    except ValueError as exc:
        raise _UnparsableBody(str(exc)) from None
    except RecursionError:
        raise _TooDeep() from None


def public_url(response: Response) -> str:
    """The URL a response answered, without its query string (which may carry ids)."""
    url = str(getattr(response.request, "url", None) or response.url or "")
    return url.split("?", 1)[0]


def error_message(response: Response) -> str:
    """The human part of an error body: ``message``, ``detail`` or ``error``, else the text.

    Args:
        response: An error response.

    Returns:
        A short message, at most 200 characters.
    """
    try:
        body = response.json()
    except ValueError:
        return (response.text or response.reason or "").strip()[:200]
    if isinstance(body, dict):
        for key in ("message", "detail", "error"):
            if body.get(key):
                value = body[key]
                return (value if isinstance(value, str) else str(value))[:200]
    return str(body)[:200]


def classify_error(provider: str, response: Response) -> ProviderError:
    """The default mapping of an HTTP error status to a ``ProviderError``.

    Args:
        provider: Provider key, for the message.
        response: The final error response, after retries.

    Returns:
        The error to raise.
    """
    status = response.status_code
    detail = error_message(response)
    if status == 401:
        return CredentialsError(provider, f"credentials rejected (HTTP 401: {detail})", status)
    if status == 403:
        return AccessDeniedError(provider, f"access denied (HTTP 403: {detail})", status)
    if status == 404:
        return NotFoundError(provider, f"not found (HTTP 404: {detail})", status)
    if status == 429 or status >= 500:
        return ProviderUnavailableError(provider, f"HTTP {status} after every retry: {detail}", status)
    return RequestRejectedError(provider, f"request rejected (HTTP {status}: {detail})", status)


class ProviderHttp:
    """A provider's HTTP client: retries, error mapping, progress, thread-safe fan-out.

    Args:
        provider: Provider key, used in errors and progress.
        base_url: The API root, e.g. ``https://api.example-ai.com/v1``.
        auth: A requests auth object (dlt's ``BearerTokenAuth`` or ``APIKeyAuth``).
        classify: Maps a final error response to a ``ProviderError``.
        observer: Receives one event per response.
        not_found: How the API's documented "not found" message of one item begins (e.g.
            ``Conversation not found``); a 404 with any other body means the URL is wrong. Empty
            where the docs give no such body: then only "every item answered 404" tells.
    """

    def __init__(
        self,
        provider: str,
        base_url: str,
        auth: AuthBase,
        classify: ErrorClassifier = classify_error,
        observer: RunObserver | None = None,
        not_found: tuple[str, ...] = (),
    ) -> None:
        self.provider = provider
        self.base_url = base_url
        self._not_found = tuple(prefix.lower() for prefix in not_found)
        register(getattr(auth, "token", None), getattr(auth, "api_key", None))
        self._auth = auth
        self._classify = classify
        self._observer = observer or RunObserver(provider)
        self._retrying = _RetryingClient(
            raise_for_status=False,
            exceptions=(*DEFAULT_RETRY_EXCEPTIONS, _UnparsableBody),
        )
        self._retrying.trust_env, self._retrying.ca_bundle = environment_settings()
        self.limiter = limiter_for(provider, base_url, _key_of(auth), *configured_rate(provider))
        self._retrying.limiter = self.limiter
        self._retrying.configure()  # attempts, backoff and timeout from dlt's [runtime] config
        self._local = threading.local()

    @property
    def _rest(self) -> RESTClient:
        # requests sessions are not thread-safe: one RESTClient per worker thread
        rest: RESTClient | None = getattr(self._local, "rest", None)
        if rest is None:
            rest = _ShapeCheckingRESTClient(base_url=self.base_url, auth=self._auth, session=self._retrying.session)
            rest.provider = self.provider
            self._local.rest = rest
        return rest

    def _check(self, response: Response, *args: Any, **kwargs: Any) -> ParsedResponse:
        """Response hook, run on every attempt inside the retry loop; what it returns replaces the response."""
        self._observer.on_request()
        self._retrying.answered = True
        signals.raise_if_signalled()
        if response.status_code >= 400:
            raise HTTPError(f"HTTP {response.status_code}", response=response)
        parsed = _parsed_body(response)
        if echoes_secret(response.content, parsed):  # a provider echoing the key: it never reaches a row
            parsed = scrub_value(parsed)
        if might_hold_unstorable_text(response.content):
            parsed = storable(parsed)
        return ParsedResponse(response, parsed)  # RESTClient and the paginators read it, not a second parse

    def _error_for(self, response: Response) -> ProviderError:
        url = public_url(response)
        if response.status_code == 404 and self._not_found:
            detail = error_message(response)
            if not detail.lower().startswith(self._not_found):
                return self.wrong_endpoint(url, f"HTTP 404 ({detail[:80]!r}, not the API's own 'not found' answer)")
        error = self._classify(self.provider, response)
        error.url = url
        return error

    def wrong_endpoint(self, url: str | None, why: str) -> WrongEndpointError:
        """The error of a base URL where the API is not: names the URL and the setting."""
        return WrongEndpointError(self.provider, self.base_url, url, why)

    def fetch(
        self, path: str, *, method: str = "GET", params: dict[str, Any] | None = None, json: Any = None
    ) -> dict[str, Any]:
        """One request answered with one JSON object (a record, not a list of them).

        Raises:
            ProviderError: As ``paginate``; ``MalformedResponseError`` when the answer is not an object.
        """
        for page in self.paginate(path, method=method, params=params, json=json, data_selector=WHOLE_BODY):
            found: dict[str, Any] = page[0]
            return found
        raise MalformedResponseError(self.provider, f"{path}: no answer")

    def paginate(
        self,
        path: str,
        *,
        method: str = "GET",
        params: dict[str, Any] | None = None,
        json: Any = None,
        paginator: BasePaginator | None = None,
        data_selector: str = "$",
    ) -> Iterator[PageData[Any]]:
        """Yields pages of records; raises a ``ProviderError`` when the API fails for good.

        Args:
            path: Path below the base URL.
            method: HTTP method.
            params: Query parameters of the first request.
            json: JSON body.
            paginator: The paging strategy; a single page when omitted.
            data_selector: Dotted path to the list of records in each response (``$``: the body).

        Yields:
            One ``PageData`` (a list with ``.response``) per response.
        """
        pages = self._rest.paginate(
            path,
            method=method,  # type: ignore[arg-type]
            params=params,
            json=json,
            paginator=paginator or SinglePagePaginator(),
            data_selector=data_selector,
            hooks={"response": [self._check]},  # type: ignore[list-item]  # requests keeps what a hook returns
        )
        try:
            yield from pages
        except HTTPError as exc:
            raise self._error_for(exc.response) from None
        except _UnparsableBody:
            raise MalformedResponseError(self.provider, "kept answering with a body that is not JSON") from None
        except _TooDeep:
            raise MalformedResponseError(self.provider, "the response is nested too deeply to parse") from None
        except ChunkedEncodingError:
            raise ProviderUnavailableError(self.provider, "responses kept arriving truncated") from None
        except (ConnectionError, Timeout) as exc:
            reason = unreachable_reason(exc, self._retrying.answered)
            if reason is not None:
                raise EndpointUnreachableError(
                    self.provider,
                    f"{self.base_url}: {reason}; check sources.{self.provider}.base_url",
                ) from None
            raise ProviderUnavailableError(
                self.provider, f"{self.base_url} unreachable after every retry ({type(exc).__name__})"
            ) from None
