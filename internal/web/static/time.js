// Says each <time datetime> in the reader's own time zone and language,
// which only the browser knows. The server writes the time in UTC, naming
// the zone, so without JavaScript (or Intl) the page is still right; the
// UTC text stays as the element's tooltip.
(function () {
  var format;
  try {
    format = new Intl.DateTimeFormat(undefined, {
      day: "numeric", month: "short", year: "numeric",
      hour: "2-digit", minute: "2-digit", timeZoneName: "short"
    });
  } catch (e) {
    return;
  }
  document.querySelectorAll("time[datetime]").forEach(function (el) {
    var t = new Date(el.getAttribute("datetime"));
    if (isNaN(t.getTime())) return;
    if (!el.title) el.title = el.textContent;
    el.textContent = format.format(t);
  });
})();
