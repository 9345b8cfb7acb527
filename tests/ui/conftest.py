"""Browser tests: Playwright for Python driving Debian's Chromium against a real server process.

Never `playwright install` (it downloads a browser, which cannot work here): the tests use
/usr/bin/chromium from `apt-get install chromium`. Without it they skip, or fail when
HUBBUB_TEST_REQUIRE_BROWSER=1 (as CI sets it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.server_process import ServerProcess

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
PASSWORD = "correct horse"
TIMEOUT_MS = 10_000


def _browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[test]')"
    if not CHROMIUM.exists():
        return f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    return None


class Chromium:
    """One Chromium for the session, launched when a test first asks for it: so a missing
    browser fails (HUBBUB_TEST_REQUIRE_BROWSER=1) or skips that test itself."""

    def __init__(self) -> None:
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None

    def get(self) -> Browser:
        if self._browser is None:
            missing = _browser_missing()
            if missing is not None:
                if os.environ.get("HUBBUB_TEST_REQUIRE_BROWSER") == "1":
                    pytest.fail(f"{missing}; HUBBUB_TEST_REQUIRE_BROWSER=1 requires browser tests")
                pytest.skip(
                    f"browser tests skipped: {missing}. Install both to run them; set "
                    "HUBBUB_TEST_REQUIRE_BROWSER=1 to make a missing browser fail the run."
                )
            from playwright.sync_api import sync_playwright

            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
            )
        return self._browser

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Chromium]:
    browser = Chromium()
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def server_env() -> dict[str, str]:
    """More HUBBUB_* settings for the `server` fixture. A test sets them by parametrizing it:
    `@pytest.mark.parametrize("server_env", [{"HUBBUB_REGISTRATION": "closed"}])`."""
    return {}


@pytest.fixture
def server(tmp_path: Path, server_env: dict[str, str]) -> Iterator[ServerProcess]:
    """A real `hubbub serve` on a fresh SQLite file (its log goes to tmp_path/server.log)."""
    with ServerProcess(
        f"sqlite:///{tmp_path / 'hubbub.db'}",
        log_path=tmp_path / "server.log",
        # Survives the process being killed (what the tests do), and skips an fsync per write.
        env={"HUBBUB_SQLITE_SYNCHRONOUS": "NORMAL", **server_env},
    ) as running:
        yield running
        running.kill()  # graceful shutdown (which waits for open streams) is not under test here


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# Chromium's own reports of a refused connection: expected only while a test stops the server.
NETWORK_NOISE = re.compile(r"ERR_CONNECTION_REFUSED|ERR_CONNECTION_RESET|WebSocket connection to")


@dataclass
class Person:
    """One person in their own browser context (own storage, own WebSocket)."""

    username: str
    page: Page
    context: BrowserContext
    base_url: str
    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    http: httpx.Client | None = None

    def sign_up(self, display_name: str | None = None) -> Person:
        page = self.page
        page.goto(self.base_url + "/")
        page.get_by_role("tab", name="Create account").click()
        page.locator("#auth-username").fill(self.username)
        if display_name is not None:
            page.locator("#auth-display").fill(display_name)
        page.locator("#auth-password").fill(PASSWORD)
        page.locator("#auth-submit").click()
        self.wait_live()
        return self

    def sign_in(self, password: str = PASSWORD) -> Person:
        page = self.page
        page.goto(self.base_url + "/")
        page.locator("#auth-username").fill(self.username)
        page.locator("#auth-password").fill(password)
        page.locator("#auth-submit").click()
        self.wait_live()
        return self

    def wait_live(self) -> None:
        """Signed in, the lobby shown, and the event stream connected."""
        self.page.locator("#chat").wait_for(state="visible")
        # (Locators, not wait_for_function: the page's CSP forbids the eval that needs.)
        self.page.locator("html[data-connection='live']").wait_for(state="attached")
        self.page.locator("#messages").wait_for(state="attached")

    @property
    def token(self) -> str:
        return str(self.page.evaluate("JSON.parse(localStorage.getItem('hubbub.session')).token"))

    def api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """A request as this person, outside the page (to seed data, or check what the server
        holds), on one kept-alive connection."""
        if self.http is None:
            self.http = httpx.Client(base_url=f"{self.base_url}/api/v1")
            self.http.headers["Authorization"] = f"Bearer {self.token}"
        return self.http.request(method, path, **kw)

    def open_room(self, name: str) -> None:
        self.page.locator("#sidebar .room-item", has_text=name).click()
        self.page.locator("#room-title", has_text=name).wait_for()

    def send(self, text: str) -> None:
        box = self.page.locator("#composer-input")
        box.fill(text)
        box.press("Enter")

    def message(self, text: str) -> Any:
        """The timeline row whose text is exactly `text`."""
        return self.page.locator("#messages li.msg").filter(
            has=self.page.locator(".text", has_text=re.compile(f"^{re.escape(text)}"))
        )

    def timeline_texts(self, prefix: str = "") -> list[str]:
        texts: list[str] = self.page.locator(
            "#messages li.msg:not(.pending) .text"
        ).all_inner_texts()
        return [t for t in texts if t.startswith(prefix)]

    def wait_signed_out(self) -> None:
        """The server ended this page's session: the sign-in screen says so."""
        notice = self.page.locator("#auth-notice", has_text="You were signed out")
        notice.wait_for()
        assert self.page.locator("#chat").is_hidden()

    def unexpected_console_errors(self, allow_network_noise: bool = False) -> list[str]:
        return [
            e for e in self.console_errors if not (allow_network_noise and NETWORK_NOISE.search(e))
        ]


@pytest.fixture
def people(chromium: Chromium, server: ServerProcess) -> Iterator[Callable[..., Person]]:
    """open_person("alice", color_scheme="dark") -> a Person with a page on the server."""
    contexts: list[BrowserContext] = []
    opened: list[Person] = []

    def open_person(username: str, color_scheme: str = "light") -> Person:
        context = chromium.get().new_context(
            viewport={"width": 1180, "height": 760},
            color_scheme=color_scheme,  # type: ignore[arg-type]
            reduced_motion="reduce",
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        person = Person(username, page, context, server.url)
        opened.append(person)
        page.on(
            "console",
            lambda msg: person.console_errors.append(msg.text) if msg.type == "error" else None,
        )
        page.on("pageerror", lambda exc: person.console_errors.append(f"page error: {exc}"))

        def on_dialog(dialog: Any) -> None:
            person.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        return person

    yield open_person
    for context in contexts:
        context.close()
    for person in opened:
        if person.http is not None:
            person.http.close()


def save_screenshot(
    page: Page, name: str, *, for_readme: bool = False, docs_name: str = "screenshot"
) -> None:
    """Into test-artifacts/ (git-ignored); with HUBBUB_UPDATE_SCREENSHOT=1 and for_readme also
    docs/<docs_name>.png (tracked files, so an ordinary test run does not rewrite them)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    if for_readme and os.environ.get("HUBBUB_UPDATE_SCREENSHOT") == "1":
        page.screenshot(path=str(ROOT / "docs" / f"{docs_name}.png"))
