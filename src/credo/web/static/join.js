// Join page: take the invitation code from the link's fragment (never sent to a server) into the form.
(function () {
  const field = document.getElementById("code");
  if (!field || location.hash.length < 2) return;
  field.value = decodeURIComponent(location.hash.slice(1));
  history.replaceState(null, "", location.pathname);
})();
