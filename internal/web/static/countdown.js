// Counts down "Send again in N s" on buttons marked data-wait, enabling
// them at zero. The server enforces the wait anyway; without JavaScript the
// button is simply enabled and an early press is told how long to wait.
document.querySelectorAll("[data-wait]").forEach(function (btn) {
  var left = parseInt(btn.getAttribute("data-wait"), 10);
  var label = btn.textContent;
  if (!(left > 0)) return;
  btn.disabled = true;
  var tick = function () {
    if (left <= 0) { btn.disabled = false; btn.textContent = label; return; }
    btn.textContent = label + " (" + left + " s)";
    left--;
    setTimeout(tick, 1000);
  };
  tick();
});
