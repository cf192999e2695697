// The staff console in a real browser: Debian's headless Chromium, driven
// by playwright-core (no downloaded browser). Run by
// tests/integration/console.sh against a gateway it set up, with objects
// it put in quarantine. Every step is a check; a dialog (an alert() that
// escaped) or a Content-Security-Policy violation anywhere fails the run.
// Screenshots of each step go to --shots.
//
// node console_test.mjs --base URL --ca FILE --shots DIR --xss ID --four ID --reject ID
//                       --user1 NAME --pass1 PW --user2 NAME --pass2 PW
import { chromium } from "playwright-core";
import path from "node:path";

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];

let failed = 0;
const dialogs = [];
const violations = [];
function check(name, ok, detail) {
  if (ok) console.log(`ok - ${name}`);
  else {
    failed++;
    console.log(`not ok - ${name}${detail ? `: ${detail}` : ""}`);
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
});
// The console's certificate chains to the gateway CA, which this browser
// profile does not hold; curl checks the chain in console.sh.
const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
await context.addInitScript(() => {
  document.addEventListener("securitypolicyviolation", (e) => {
    console.log(`CSP-VIOLATION ${e.violatedDirective} ${e.blockedURI}`);
  });
});
const page = await context.newPage();
page.setDefaultTimeout(15000);
page.on("dialog", async (d) => {
  dialogs.push(`${d.type()}: ${d.message()}`);
  await d.dismiss();
});
page.on("console", (m) => {
  const t = m.text();
  if (t.includes("CSP-VIOLATION") || t.includes("Content Security Policy")) violations.push(t);
});
const shot = (name) => page.screenshot({ path: path.join(args.shots, `${name}.png`), fullPage: true });
const go = (p) => page.goto(args.base + p, { waitUntil: "load" });
const text = async (sel) => ((await page.locator(sel).first().textContent()) || "").trim();

async function login(user, pass) {
  await go("/login");
  await page.fill("#user", user);
  await page.fill("#password", pass);
  await Promise.all([page.waitForLoadState("load"), page.click("#login")]);
}

async function decide(id, action, reason) {
  await go(`/objects/${id}`);
  await page.fill(`#${action}-reason`, reason);
  await Promise.all([page.waitForNavigation(), page.click(`#${action}`)]);
}

try {
  // Wrong password, then the right one.
  await login(args.user1, "not-the-password");
  check("a wrong password is refused", (await text("#login-error")).includes("Wrong account or password"));
  await shot("01-login-refused");
  await login(args.user1, args.pass1);
  check("login leads to the dashboard", new URL(page.url()).pathname === "/" && (await page.title()).startsWith("Dashboard"));
  check("the dashboard names the account", (await text("#account")) === args.user1);
  await shot("02-dashboard");

  await go("/quarantine");
  check("the quarantine list has rows", (await page.locator("#quarantine tbody tr").count()) > 0);
  await shot("03-quarantine");

  // The infected package: its member tree, the hostile name as text.
  await go(`/objects/${args.xss}`);
  const members = await text("#members");
  check("the member tree shows the hostile name as text", members.includes("<script>alert(1)</script>"));
  check("the infected verdict is shown", (await text("#verdict")) === "infected");
  check("the signature names its member chain", (await text("#signatures")).includes("!<script>alert(1)</script>"));
  check("no script element came from the data", (await page.locator("script").count()) === 1);
  await shot("04-infected-member-tree");

  // Four eyes: the first reviewer asks, cannot confirm; the second confirms.
  await decide(args.four, "release", "vendor gave the archive password");
  check("the first reviewer's release is a request", (await text("#result")).includes("a second reviewer must confirm"));
  await shot("05-release-requested");
  await decide(args.four, "release", "confirming my own request");
  check("the same reviewer cannot confirm", (await text("#error")).includes("second reviewer"));
  await shot("06-same-reviewer-refused");
  await Promise.all([page.waitForNavigation(), page.click("#logout")]);
  check("logout leads to the login page", new URL(page.url()).pathname === "/login");

  await login(args.user2, args.pass2);
  await go(`/objects/${args.four}`);
  check("the second reviewer sees the open request", (await text("#request")).includes(args.user1));
  await shot("07-second-reviewer");
  await decide(args.four, "release", "checked the vendor advisory");
  check("the second reviewer's confirmation releases", (await text("#result")).includes(`released by ${args.user2}`));
  await go(`/objects/${args.four}`);
  check("the object is released", (await text("#state")) === "released");
  await shot("08-released");

  // Reject.
  await decide(args.reject, "reject", "unknown payload, vendor did not confirm");
  check("reject", (await text("#result")).includes("rejected"));
  await go(`/objects/${args.reject}`);
  check("the object is rejected", (await text("#state")) === "rejected");

  // Audit rows and the chain.
  await go("/audit");
  check("the audit chain is verified", (await text("#chain")).startsWith("Chain verified"));
  const audit = await text("#audit");
  for (const a of ["release-request", "release-confirm", "reject"])
    check(`the audit log has ${a}`, audit.includes(a));
  check("the audit rows name both reviewers", audit.includes(args.user1) && audit.includes(args.user2));
  await shot("09-audit");
  await go(`/objects/${args.four}`);
  check("the object's own audit rows", (await text("#object-audit")).includes("release-confirm"));
} catch (e) {
  check("no step threw", false, e && e.stack ? e.stack.split("\n").slice(0, 3).join(" | ") : String(e));
  await shot("99-failure").catch(() => {});
}
check("no dialog opened (no injected script ran)", dialogs.length === 0, dialogs.join("; "));
check("no Content-Security-Policy violation", violations.length === 0, violations.join("; "));
await browser.close();
console.log(`${failed === 0 ? "all passed" : `${failed} failed`}`);
process.exit(failed === 0 ? 0 : 1);
