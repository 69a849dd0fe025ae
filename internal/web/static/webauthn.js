// The security-key and passkey ceremony: the one thing the pages cannot do
// without JavaScript. A form marked data-webauthn is sent only with the
// key's answer in its credential field, so the server checks it as it
// checks a code and answers with a page:
//   create   adds a key: creation options in #webauthn-options;
//   get      the second step or "Confirm it's you": request options in
//            #webauthn-options;
//   passkey  signs in with a passkey: request options fetched from
//            /signin/passkey/begin (which binds the ceremony to a cookie),
//            and offered as autofill on the e-mail field where the browser
//            can (conditional mediation).
// Options are JSON (the page's data block is not executed, so the CSP's
// default-src 'self' allows it); the browser's own parse…FromJSON and
// toJSON are used where it has them, a small base64url fallback elsewhere.
(function () {
  "use strict";

  // The words come in the page's language (#script-messages), English
  // without them.
  var words = {};
  try { words = JSON.parse(document.getElementById("script-messages").textContent); } catch (e) {}
  var NO_WEBAUTHN = words.no_security_keys || "This browser cannot use security keys: use another method.";
  var CANCELLED_CREATE = words.cancelled_create || "Nothing was saved: the security key request was cancelled or timed out. Try again.";
  var CANCELLED_GET = words.cancelled_get || "The security key request was cancelled or timed out. Try again, or use another way.";
  var ALREADY_ADDED = words.already_added || "This security key is already on your account. Use another key, or cancel.";
  var FAILED = words.failed || "The security key did not answer. Try again, or use another way.";
  var UNREACHABLE = words.unreachable || "We could not reach the server. Check your connection and try again.";

  var supported = !!(window.PublicKeyCredential && navigator.credentials &&
    typeof navigator.credentials.create === "function" && typeof navigator.credentials.get === "function");

  function fromB64url(s) {
    var b64 = s.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var bin = atob(b64), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toB64url(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withBinaryIDs(list) {
    return (list || []).map(function (c) { return Object.assign({}, c, { id: fromB64url(c.id) }); });
  }

  function creationOptions(json) {
    if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function") {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    return Object.assign({}, json, {
      challenge: fromB64url(json.challenge),
      user: Object.assign({}, json.user, { id: fromB64url(json.user.id) }),
      excludeCredentials: withBinaryIDs(json.excludeCredentials)
    });
  }

  function requestOptions(json) {
    if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function") {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    return Object.assign({}, json, {
      challenge: fromB64url(json.challenge),
      allowCredentials: withBinaryIDs(json.allowCredentials)
    });
  }

  // credentialJSON is the answer as the server reads it
  // (RegistrationResponseJSON or AuthenticationResponseJSON).
  function credentialJSON(cred) {
    if (typeof cred.toJSON === "function") return cred.toJSON();
    var r = cred.response;
    var out = {
      id: cred.id, rawId: toB64url(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: toB64url(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toB64url(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = toB64url(r.authenticatorData);
      out.response.signature = toB64url(r.signature);
      if (r.userHandle) out.response.userHandle = toB64url(r.userHandle);
    }
    return out;
  }

  function errorBox() { return document.querySelector("[data-webauthn-error]"); }

  function say(msg) {
    var box = errorBox();
    if (!box) return;
    box.textContent = msg;
    box.hidden = false;
  }

  // explain says why a ceremony ended without an answer.
  function explain(err, creating) {
    if (err && err.name === "NotAllowedError") return creating ? CANCELLED_CREATE : CANCELLED_GET;
    if (err && err.name === "InvalidStateError" && creating) return ALREADY_ADDED;
    if (err && err.name === "SecurityError") return NO_WEBAUTHN;
    return FAILED;
  }

  // openOthers shows "Try another way" after a refusal.
  function openOthers() {
    var others = document.querySelector("details.another");
    if (others) others.open = true;
  }

  // send puts the answer in the form and sends it: submit() fires no
  // submit event, so the handler below does not run again.
  function send(form, cred) {
    form.querySelector('input[name="credential"]').value = JSON.stringify(credentialJSON(cred));
    form.setAttribute("data-webauthn-sent", "");
    form.submit();
  }

  function pageOptions() {
    var el = document.getElementById("webauthn-options");
    return el ? JSON.parse(el.textContent) : null;
  }

  // The passkey sign-in's options, fetched once per page: the modal
  // request and the autofill share them (and the ceremony's cookie).
  var begun = null;
  function beginPasskey() {
    if (!begun) {
      begun = fetch("/signin/passkey/begin", { method: "POST", credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (resp) {
          return resp.json().then(function (body) {
            if (!resp.ok || !body.publicKey) throw { message: body.message || FAILED };
            return body.publicKey;
          });
        }, function () { throw { message: UNREACHABLE }; })
        .catch(function (e) { begun = null; throw e; });
    }
    return begun;
  }

  var autofill = null; // the AbortController of a pending autofill request

  function ceremony(form, mode) {
    if (mode === "create") {
      return navigator.credentials.create({ publicKey: creationOptions(pageOptions()) });
    }
    if (mode === "get") {
      return navigator.credentials.get({ publicKey: requestOptions(pageOptions()) });
    }
    if (autofill) { autofill.abort(); autofill = null; }
    return beginPasskey().then(function (json) {
      return navigator.credentials.get({ publicKey: requestOptions(json) });
    });
  }

  function wire(form) {
    var mode = form.getAttribute("data-webauthn");
    var button = form.querySelector('button[type="submit"]');
    if (!supported) {
      if (mode !== "passkey") {
        say(NO_WEBAUTHN);
        if (button) button.disabled = true;
        openOthers();
      }
      return;
    }
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (button && button.disabled) return;
      var box = errorBox();
      if (box) box.hidden = true;
      if (button) button.disabled = true;
      ceremony(form, mode).then(function (cred) {
        if (!cred) throw new Error("no credential");
        send(form, cred);
      }).catch(function (err) {
        if (button) button.disabled = false;
        say(err && err.message && !err.name ? err.message : explain(err, mode === "create"));
        if (mode === "get") openOthers();
      });
    });
  }

  document.querySelectorAll("form[data-webauthn]").forEach(wire);

  // The passkey sign-in: its button shows only where the browser can
  // use passkeys, and the e-mail field offers them as autofill where
  // the browser supports that (conditional mediation).
  var passkeyForm = document.querySelector('form[data-webauthn="passkey"]');
  if (!passkeyForm || !supported) return;
  var holder = passkeyForm.closest("[data-passkey]");
  if (holder) holder.hidden = false;
  var field = document.querySelector('input[autocomplete~="webauthn"]');
  if (!field || typeof PublicKeyCredential.isConditionalMediationAvailable !== "function") return;
  PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
    if (!available) return;
    return beginPasskey().then(function (json) {
      autofill = new AbortController();
      passkeyForm.setAttribute("data-webauthn-autofill", "started");
      return navigator.credentials.get({ publicKey: requestOptions(json), mediation: "conditional", signal: autofill.signal });
    }).then(function (cred) {
      if (cred) send(passkeyForm, cred);
    });
  }).catch(function () {
    // The button's request aborts this one (AbortError); any other
    // failure leaves the button to try, and to say what went wrong.
  });
})();
