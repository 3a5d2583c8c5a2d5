// Industry Brain pages: send the session's CSRF token with every htmx request.
document.addEventListener("htmx:configRequest", function (evt) {
  var token = document.body.getAttribute("data-csrf");
  if (token) {
    evt.detail.headers["X-CSRF-Token"] = token;
  }
});

// Lists: a page-size choice applies at once (the form's button does the same without script).
document.addEventListener("change", function (evt) {
  var el = evt.target;
  if (el && el.matches && el.matches("select[data-autosubmit]") && el.form) {
    el.form.submit();
  }
});
