"""The web view of `llmagent serve` in headless Chromium (Debian's
`chromium`, driven by Playwright, which is told where it is: Playwright's
own browser download is not used).

Usage: page_test.py URL-WITH-#token=… AGENT
Checks, in order: the page loads and lists AGENT; a prompt sent from the
page shows its tool call and answer; an approval clicked on the page lets
the waiting turn run. Exits non-zero with the failing step on stderr.
"""

import sys

from playwright.sync_api import expect, sync_playwright

url, agent = sys.argv[1], sys.argv[2]

with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
    page = browser.new_page()
    page.set_default_timeout(20000)
    page.goto(url)
    # 1. The page loads and shows the agent.
    row = page.locator(f"tr.agent[data-name='{agent}']")
    expect(row).to_be_visible()
    row.click()
    expect(page.locator("#agent-name")).to_have_text(agent)
    # 2. A prompt sent from the page: its tool call and its answer show.
    page.fill("#prompt-text", "hash hi")
    page.click("#prompt-send")
    # The role asks for approval first: 3. approve it on the page.
    approve = page.locator("#approvals .approval button.approve")
    expect(approve).to_be_visible()
    expect(page.locator("#approvals .approval")).to_contain_text("crypto.sha256")
    approve.click()
    expect(page.locator("#answer")).to_have_text("done")
    expect(page.locator("#conversation .call")).to_contain_text("crypto-sha256")
    expect(page.locator("#conversation .msg.tool")).to_contain_text(
        "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4"
    )
    # The timeline saw the turn live.
    expect(page.locator("#timeline")).to_contain_text("tool.crypto/invocation")
    browser.close()
print("ok")
