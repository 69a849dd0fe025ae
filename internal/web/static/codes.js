// The recovery codes page: Copy puts the codes on the clipboard, one a
// line; Print opens the browser's print dialogue on this page (without
// JavaScript, Print sends the codes to a page made for printing).
(function () {
  var words = {};
  try { words = JSON.parse(document.getElementById("script-messages").textContent); } catch (e) {}
  var copy = document.querySelector("[data-copy]");
  var said = document.querySelector(".saverow .copied");
  if (copy && navigator.clipboard) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      var codes = [].map.call(document.querySelectorAll("#" + copy.getAttribute("data-copy") + " code"), function (c) {
        return c.textContent.trim();
      });
      navigator.clipboard.writeText(codes.join("\n") + "\n").then(function () {
        said.textContent = words.copied || "Copied.";
      }, function () {
        said.textContent = words.copy_failed || "Couldn't copy: select the codes instead.";
      });
    });
  }
  var print = document.querySelector("[data-print]");
  if (print && window.print) {
    print.addEventListener("click", function (e) {
      e.preventDefault();
      window.print();
    });
  }
})();
