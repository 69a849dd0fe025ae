// Says each <time datetime> in the reader's own time zone and language,
// which only the browser knows. The server writes the time in UTC, naming
// the zone, so without JavaScript (or Intl) the page is still right; the
// UTC text stays as the element's tooltip.
(function () {
  // The page's language, in the reader's own variant of it when the
  // browser prefers one (an en-GB reader of an English page: 14:30).
  var page = document.documentElement.lang || "";
  var locale = page || undefined;
  var prefs = [];
  try { prefs.push(new Intl.DateTimeFormat().resolvedOptions().locale); } catch (e) {}
  prefs = prefs.concat(navigator.languages || [navigator.language]);
  for (var i = 0; i < prefs.length; i++) {
    if (prefs[i] && prefs[i].split("-")[0].toLowerCase() === page.split("-")[0].toLowerCase()) {
      locale = prefs[i];
      break;
    }
  }
  var format;
  try {
    format = new Intl.DateTimeFormat(locale, {
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
