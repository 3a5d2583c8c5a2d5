// Industry Brain pages: send the session's CSRF token with every htmx request.
document.addEventListener("htmx:configRequest", function (evt) {
  var token = document.body.getAttribute("data-csrf");
  if (token) {
    evt.detail.headers["X-CSRF-Token"] = token;
  }
});
