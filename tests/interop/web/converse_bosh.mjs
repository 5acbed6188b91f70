// Converse.js over BOSH (XEP-0206) in headless Chromium: the page xmppd serves, with its
// connection switched from the WebSocket to /http-bind (as for a network that blocks
// WebSockets), logs in, adds a contact and chats with it through the real UI.
//
// Usage: node converse_bosh.mjs URL USER PASSWORD CONTACT_JID SCREENSHOT
// Reports one JSON object per line; waits for {"reply": text} on stdin after sending.
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

const web = process.env.XMPPD_WEB_DIR;
const { chromium } = await import(pathToFileURL(`${web}/node_modules/playwright-core/index.mjs`).href);
const [url, user, password, contact, screenshot] = process.argv.slice(2);
const say = (report) => process.stdout.write(JSON.stringify(report) + "\n");
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(15000);
  // The served page, with BOSH instead of the WebSocket.
  await page.route(url, async (route) => {
    const response = await route.fetch();
    const html = (await response.text()).replace(/websocket_url: [^\n]*\n/, "bosh_service_url: '/http-bind',\n");
    if (!html.includes("bosh_service_url")) throw new Error("the page does not name its WebSocket URL as expected");
    await route.fulfill({ response, body: html });
  });
  page.on("websocket", () => say({ event: "websocket-opened" }));  // must not happen
  await page.goto(url);
  await page.fill("#converse-login-jid", user);
  await page.fill("#converse-login-password", password);
  await page.click("#converse-login button[type=submit]");
  await page.locator("converse-roster").waitFor();
  say({ event: "online" });

  // The contact added from the roster's menu (its client accepts), then a chat with it.
  await page.locator("converse-roster .dropdown-toggle, converse-roster a.add-contact").first().click();
  await page.locator("a.add-contact").first().click();
  await page.fill(".add-xmpp-contact input[name=jid]", contact);
  await page.click(".add-xmpp-contact button[type=submit]");
  // The roster entry re-renders as the contact's client accepts, which can swallow a click
  // made at that moment: click again until the chat box opens.
  const box = page.locator(`[jid="${contact}"]`).first();
  for (let attempt = 1; ; ++attempt) {
    await page.locator(`converse-roster a.open-chat[data-jid="${contact}"]`).first().click();
    try {
      await box.locator("textarea.chat-textarea").waitFor({ timeout: 5000 });
      break;
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
  await box.locator("textarea.chat-textarea").fill("hello over BOSH");
  await box.locator("textarea.chat-textarea").press("Enter");
  say({ event: "sent" });
  for await (const line of createInterface({ input: process.stdin })) {
    const { reply } = JSON.parse(line);
    await box.locator(".chat-msg__text", { hasText: reply }).first().waitFor();
    say({ event: "received", body: reply });
    break;
  }
  await page.screenshot({ path: screenshot });
  await browser.close();
  say({ event: "done" });
} catch (error) {
  say({ event: "failed", message: String(error && error.stack ? error.stack : error) });
  for (const page of browser.contexts().flatMap((context) => context.pages()))
    await page.screenshot({ path: screenshot }).catch(() => {});
  await browser.close();
  process.exit(1);
}
