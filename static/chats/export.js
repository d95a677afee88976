// `/me/export/#token=<signed token>`: the token came in the link's fragment, which browsers never send, so no log
// sees it; it leaves the address bar at once and is posted with the form (CSRF-protected), which answers the file.
(() => {
  const token = new URLSearchParams(window.location.hash.slice(1)).get("token");
  const form = document.getElementById("export-form");
  if (!token || !form) return;
  window.history.replaceState(null, "", window.location.pathname);
  form.elements.token.value = token;
})();
