// Passkeys for the console (WebAuthn): the server's options come as JSON with
// base64url binary fields; the browser wants ArrayBuffers, and the answer goes back as
// JSON with base64url again. No inline script: the CSP allows only this file.
"use strict";

(function () {
  function fromB64url(text) {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
    const raw = atob(b64);
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out.buffer;
  }
  function toB64url(buffer) {
    const bytes = new Uint8Array(buffer);
    let raw = "";
    for (let i = 0; i < bytes.length; i++) raw += String.fromCharCode(bytes[i]);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function csrf() {
    const meta = document.querySelector("meta[name='csrf-token']");
    return meta ? meta.content : "";
  }
  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf(), "Accept": "application/json" },
      body: body === undefined ? "{}" : JSON.stringify(body),
    });
    const data = await response.json();
    if (!response.ok) throw new Error(data.title || ("HTTP " + response.status));
    return data;
  }
  function say(text) {
    const status = document.getElementById("passkey-status");
    if (status) status.textContent = text;
  }

  async function signIn() {
    say("Waiting for your passkey…");
    const begun = await post("/signin/passkey/options");
    const options = JSON.parse(begun.options);
    options.challenge = fromB64url(options.challenge);
    (options.allowCredentials || []).forEach((c) => { c.id = fromB64url(c.id); });
    const credential = await navigator.credentials.get({ publicKey: options });
    const answer = {
      id: credential.id,
      rawId: toB64url(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: toB64url(credential.response.clientDataJSON),
        authenticatorData: toB64url(credential.response.authenticatorData),
        signature: toB64url(credential.response.signature),
        userHandle: credential.response.userHandle ? toB64url(credential.response.userHandle) : null,
      },
      clientExtensionResults: credential.getClientExtensionResults(),
    };
    const done = await post("/signin/passkey", { challenge_id: begun.challenge_id, credential: answer });
    window.location.assign(done.next);
  }

  async function register() {
    say("Follow your device's prompt…");
    const begun = await post("/account/passkeys/options");
    const options = JSON.parse(begun.options);
    options.challenge = fromB64url(options.challenge);
    options.user.id = fromB64url(options.user.id);
    (options.excludeCredentials || []).forEach((c) => { c.id = fromB64url(c.id); });
    const credential = await navigator.credentials.create({ publicKey: options });
    const answer = {
      id: credential.id,
      rawId: toB64url(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: toB64url(credential.response.clientDataJSON),
        attestationObject: toB64url(credential.response.attestationObject),
        transports: credential.response.getTransports ? credential.response.getTransports() : [],
      },
      clientExtensionResults: credential.getClientExtensionResults(),
    };
    const done = await post("/account/passkeys", { challenge_id: begun.challenge_id, credential: answer });
    window.location.assign(done.next);
  }

  function wire(id, action) {
    const button = document.getElementById(id);
    if (!button) return;
    button.addEventListener("click", () => {
      action().catch((error) => say("That did not work: " + error.message));
    });
  }
  wire("passkey-signin", signIn);
  wire("passkey-add", register);
})();
