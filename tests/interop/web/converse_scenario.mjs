// Two people with nothing but a browser use the web chat xmppd serves: Converse.js in
// headless Chromium (Debian's), driven through its real UI by playwright-core. Alice
// registers in-band, Bob logs in; they add each other, chat both ways, talk in a room, Alice
// sends a file that Bob downloads, Alice retracts a message, which Bob then sees retracted,
// and Bob on a new device finds the conversation in the archive. A screenshot of every
// browser is kept after every step.
//
// Usage: node converse_scenario.mjs URL ARTIFACT_DIR BOB_PASSWORD ROOM_JID FILE
// Reports one JSON object per line on stdout; exits non-zero on the first failed step.
import { readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";

const web = process.env.XMPPD_WEB_DIR;
const { chromium } = await import(pathToFileURL(`${web}/node_modules/playwright-core/index.mjs`).href);
const [url, artifacts, bobPassword, room, file] = process.argv.slice(2);
const TIMEOUT = 15000;

const say = (report) => process.stdout.write(JSON.stringify(report) + "\n");
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  // As root in a container there is no user namespace for the sandbox; the upload service
  // uses the server's self-signed certificate.
  args: ["--no-sandbox", "--ignore-certificate-errors"],
});

async function person(name) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on("pageerror", (error) => say({ event: "pageerror", who: name, message: error.message }));
  await page.goto(url);
  return { name, page };
}

let stepNumber = 0;
async function step(name, people, work) {
  stepNumber += 1;
  try {
    await work();
  } finally {
    for (const { name: who, page } of people)
      await page.screenshot({ path: join(artifacts, `${String(stepNumber).padStart(2, "0")}-${name}-${who}.png`) });
  }
  say({ event: "step", step: name });
}

// The chat box with `jid` (a contact or a room), opened from the roster or rooms list.
const chatBox = (page, jid) => page.locator(`[jid="${jid}"]`).first();

async function openChat(page, jid) {
  await page.locator(`converse-roster a.open-chat[data-jid="${jid}"]`).first().click();
  await chatBox(page, jid).locator("textarea.chat-textarea").waitFor();
}

async function send(page, jid, text) {
  const textarea = chatBox(page, jid).locator("textarea.chat-textarea");
  await textarea.fill(text);
  await textarea.press("Enter");
}

async function seesMessage(page, jid, text) {
  await chatBox(page, jid).locator(".chat-msg__text", { hasText: text }).first().waitFor();
}

try {
  const bob = await person("bob");
  const alice = await person("alice");
  const both = [alice, bob];

  await step("bob-logs-in", [bob], async () => {
    await bob.page.fill("#converse-login-jid", "bob");
    await bob.page.fill("#converse-login-password", bobPassword);
    await bob.page.click("#converse-login button[type=submit]");
    await bob.page.locator("converse-roster").waitFor();
  });

  await step("alice-registers", [alice], async () => {
    await alice.page.click("a.register-account");
    await alice.page.fill("#converse-register input[name=username]", "alice");
    await alice.page.fill("#converse-register input[name=password]", "alice-web-secret");
    await alice.page.click("#converse-register input[type=submit]");
    // Registered, then logged in with the new account.
    await alice.page.locator("converse-roster").waitFor();
  });

  await step("alice-adds-bob", both, async () => {
    await alice.page.locator("converse-roster .dropdown-toggle, converse-roster a.add-contact").first().click();
    await alice.page.locator("a.add-contact").first().click();
    await alice.page.fill(".add-xmpp-contact input[name=jid]", "bob@localhost");
    await alice.page.click(".add-xmpp-contact button[type=submit]");
    // Bob is asked, and accepts from the contact's menu.
    const request = bob.page.locator("converse-roster-contact", { has: bob.page.locator('[data-jid="alice@localhost"]') });
    await request.hover();
    await request.locator("converse-dropdown button.dropdown-toggle").click();
    await request.locator(".accept-xmpp-request").click();
    await bob.page.locator("converse-accept-contact-request-modal button[type=submit]").click();
    await bob.page.locator('converse-roster a.open-chat[data-jid="alice@localhost"]').first().waitFor();
    await alice.page.locator('converse-roster a.open-chat[data-jid="bob@localhost"]').first().waitFor();
  });

  await step("one-to-one-chat", both, async () => {
    await openChat(alice.page, "bob@localhost");
    await send(alice.page, "bob@localhost", "Hi Bob, this is Alice in a browser");
    await openChat(bob.page, "alice@localhost");
    await seesMessage(bob.page, "alice@localhost", "Hi Bob, this is Alice in a browser");
    await send(bob.page, "alice@localhost", "Hi Alice, Bob here");
    await seesMessage(alice.page, "bob@localhost", "Hi Alice, Bob here");
  });

  await step("group-chat", both, async () => {
    for (const { page } of both) {
      await page.locator(`converse-rooms-list a.open-room[data-room-jid="${room}"]`).first().click();
      await chatBox(page, room).locator("textarea.chat-textarea").waitFor();
    }
    await send(alice.page, room, "Hello, room!");
    await seesMessage(bob.page, room, "Hello, room!");
    await send(bob.page, room, "Hello Alice, in the room");
    await seesMessage(alice.page, room, "Hello Alice, in the room");
  });

  await step("file-upload", both, async () => {
    await openChat(alice.page, "bob@localhost");
    await chatBox(alice.page, "bob@localhost").locator("input.fileupload").setInputFiles(file);
    // Bob gets the link to the uploaded file and downloads it.
    await openChat(bob.page, "alice@localhost");
    const link = chatBox(bob.page, "alice@localhost").locator(`a[href*="${basename(file)}"], img[src*="${basename(file)}"]`).first();
    await link.waitFor();
    const href = (await link.getAttribute("href")) ?? (await link.getAttribute("src"));
    const response = await bob.page.context().request.get(href, { ignoreHTTPSErrors: true });
    const downloaded = Buffer.from(await response.body());
    const original = await readFile(file);
    if (response.status() !== 200 || !downloaded.equals(original))
      throw new Error(`download of ${href}: status ${response.status()}, ${downloaded.length} bytes, expected ${original.length}`);
    say({ event: "downloaded", url: href, bytes: downloaded.length });
  });

  await step("retraction", both, async () => {
    await openChat(alice.page, "bob@localhost");
    await send(alice.page, "bob@localhost", "A message I will take back");
    await openChat(bob.page, "alice@localhost");
    await seesMessage(bob.page, "alice@localhost", "A message I will take back");
    const mine = chatBox(alice.page, "bob@localhost").locator(".chat-msg", { hasText: "A message I will take back" }).last();
    await mine.hover();
    await mine.locator("converse-message-actions .dropdown-toggle, converse-message-actions button").first().click();
    await mine.locator(".chat-msg__action-retract").first().click();
    await alice.page.locator(".modal button.btn-primary, .modal button[type=submit]").first().click();
    await chatBox(bob.page, "alice@localhost").locator(".chat-msg--retracted, .chat-msg__retracted").first().waitFor();
    const gone = chatBox(bob.page, "alice@localhost").locator(".chat-msg__text", { hasText: "A message I will take back" });
    if ((await gone.count()) !== 0) throw new Error("the retracted text is still shown to Bob");
  });

  await step("history-on-a-new-device", [], async () => {
    // Bob on a browser that has never seen this conversation: it comes from the archive (MAM).
    const phone = await person("bob-new-device");
    try {
      await phone.page.fill("#converse-login-jid", "bob");
      await phone.page.fill("#converse-login-password", bobPassword);
      await phone.page.click("#converse-login button[type=submit]");
      await phone.page.locator("converse-roster").waitFor();
      await openChat(phone.page, "alice@localhost");
      await seesMessage(phone.page, "alice@localhost", "Hi Bob, this is Alice in a browser");
      await seesMessage(phone.page, "alice@localhost", "Hi Alice, Bob here");
    } finally {
      await phone.page.screenshot({ path: join(artifacts, `${String(stepNumber).padStart(2, "0")}-history-bob-new-device.png`) });
    }
  });

  say({ event: "done" });
  await browser.close();
} catch (error) {
  say({ event: "failed", step: stepNumber, message: String(error && error.stack ? error.stack : error) });
  await browser.close();
  process.exit(1);
}
