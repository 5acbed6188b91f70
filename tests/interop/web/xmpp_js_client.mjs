// xmpp.js (@xmpp/client from npm) over WebSocket, driven by test_web_clients.py: it reports
// what happens as one JSON object per line on stdout and takes commands, one JSON object per
// line, on stdin. Usage: node --experimental-websocket xmpp_js_client.mjs URL USER PASSWORD RESOURCE
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

const web = process.env.XMPPD_WEB_DIR;
const { client, xml } = await import(pathToFileURL(`${web}/node_modules/@xmpp/client/index.js`).href);
const [service, username, password, resource] = process.argv.slice(2);

const say = (report) => process.stdout.write(JSON.stringify(report) + "\n");
const xmpp = client({ service, domain: "localhost", resource, username, password });

xmpp.on("error", (error) => say({ event: "error", message: String(error) }));
xmpp.on("online", (address) => say({ event: "online", jid: address.toString() }));
xmpp.streamManagement.on("resumed", () => say({ event: "resumed" }));
xmpp.on("stanza", (stanza) => {
  if (stanza.is("message") && stanza.getChild("body"))
    say({ event: "message", from: stanza.attrs.from, body: stanza.getChildText("body") });
});

xmpp.start().catch((error) => say({ event: "error", message: String(error) }));

for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line);
  if (command.send) {
    await xmpp.send(xml("message", { to: command.send.to, type: "chat" }, xml("body", {}, command.send.body)));
    say({ event: "sent", body: command.send.body });
  } else if (command.drop) {
    // The network goes away under the client: the WebSocket closes without <close/>, and
    // xmpp.js reconnects and resumes the session by itself.
    xmpp.socket.socket.close();
  } else if (command.stop) {
    await xmpp.stop();
    say({ event: "stopped" });
    process.exit(0);
  }
}
