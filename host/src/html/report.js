// gauntlet's HTML report: small conveniences over a page that reads fine
// without them (copy buttons, expand and collapse, failures only).
"use strict";
(function () {
  var root = document.documentElement;

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try {
        ok = document.execCommand("copy");
      } catch (e) {
        ok = false;
      }
      document.body.removeChild(area);
      if (ok) {
        resolve();
      } else {
        reject(new Error("copy refused"));
      }
    });
  }

  function selectContents(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var target = document.getElementById(button.getAttribute("data-copy"));
    if (!target) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      copyText(target.textContent).then(
        function () {
          button.textContent = "Copied";
          button.classList.add("done");
        },
        function () {
          selectContents(target);
          button.textContent = "Selected: press Ctrl+C";
        }
      );
      setTimeout(function () {
        button.textContent = "Copy";
        button.classList.remove("done");
      }, 1800);
    });
  });

  var scenarios = Array.prototype.slice.call(document.querySelectorAll("details.scenario"));
  var toolbar = document.getElementById("toolbar");
  if (toolbar && scenarios.length > 0) {
    toolbar.hidden = false;
    toolbar.querySelector("[data-action=expand]").addEventListener("click", function () {
      scenarios.forEach(function (d) { d.open = true; });
    });
    toolbar.querySelector("[data-action=collapse]").addEventListener("click", function () {
      scenarios.forEach(function (d) { d.open = false; });
    });
    var failuresOnly = toolbar.querySelector("[data-action=failures]");
    if (failuresOnly) {
      failuresOnly.addEventListener("change", function () {
        document.body.classList.toggle("only-failures", failuresOnly.checked);
      });
    }
  }

  // Following a link to a closed scenario opens it.
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (target && target.tagName === "DETAILS") {
      target.open = true;
    }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();

  root.setAttribute("data-ready", "");
})();
