// Progressive enhancement only: every page works without this file.
// No inline handlers anywhere (CSP script-src 'self'); behaviour hangs off data- attributes.
(function () {
  "use strict";

  // <form data-confirm="..."> asks before submitting (destructive admin actions).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // <input type="checkbox" data-select-all="name"> toggles every checkbox named "name" in its form.
  document.addEventListener("change", function (event) {
    var box = event.target;
    var name = box.getAttribute && box.getAttribute("data-select-all");
    if (name && box.form) {
      var boxes = box.form.querySelectorAll('input[type="checkbox"][name="' + name + '"]');
      for (var i = 0; i < boxes.length; i++) {
        boxes[i].checked = box.checked;
      }
    }
    // <select data-autosubmit> applies a filter as soon as it changes.
    if (box.hasAttribute && box.hasAttribute("data-autosubmit") && box.form) {
      box.form.submit();
    }
  });
})();
