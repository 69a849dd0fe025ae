// Counts down "Send again in N s" on buttons marked data-wait, enabling
// them at zero. The server enforces the wait anyway; without JavaScript the
// button is simply enabled and an early press is told how long to wait.
// A screen reader hears once, from a polite live region beside the button,
// that it can be pressed again — not every second of the count.
var waitWords = (function () {
  try { return JSON.parse(document.getElementById("script-messages").textContent); } catch (e) { return {}; }
})();
document.querySelectorAll("[data-wait]").forEach(function (btn) {
  var left = parseInt(btn.getAttribute("data-wait"), 10);
  var label = btn.textContent;
  if (!(left > 0)) return;
  var live = document.createElement("span");
  live.className = "sr-only";
  live.setAttribute("aria-live", "polite");
  live.setAttribute("data-wait-status", "");
  btn.insertAdjacentElement("afterend", live);
  btn.disabled = true;
  var tick = function () {
    if (left <= 0) {
      btn.disabled = false;
      btn.textContent = label;
      live.textContent = (waitWords.can_use_now || "\u201c{label}\u201d can be used now.").replace("{label}", label);
      return;
    }
    btn.textContent = label + " (" + left + " s)";
    left--;
    setTimeout(tick, 1000);
  };
  tick();
});
