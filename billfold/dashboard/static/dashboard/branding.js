/* Branding page: color pickers kept in step with the hex codes, images uploaded as soon as they are
   chosen, and previews redrawn by the server as the form changes. Without this file the page still
   works: the hex fields take the colors and "Update preview" redraws the previews. */
(function () {
  "use strict";

  var form = document.getElementById("branding-form");
  if (!form) { return; }
  var HEX = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i;

  document.querySelectorAll(".no-js-only").forEach(function (el) { el.hidden = true; });
  document.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });

  function normalHex(value) {
    var match = HEX.exec(value.trim());
    if (!match) { return null; }
    var digits = match[1].toLowerCase();
    if (digits.length === 3) { digits = digits.replace(/./g, "$&$&"); }
    return "#" + digits;
  }

  function clearErrors(field) {
    field.classList.remove("has-error");
    field.querySelectorAll(".error").forEach(function (el) { el.remove(); });
  }

  function showError(field, anchor, id, text) {
    clearErrors(field);
    var error = document.createElement("p");
    error.className = "error";
    error.id = id;
    error.setAttribute("role", "alert");
    error.textContent = text;
    anchor.after(error);
    field.classList.add("has-error");
  }

  // --- the previews, redrawn from the form's values (debounced) ---------------------------------
  var frames = Array.prototype.slice.call(document.querySelectorAll("iframe[data-preview]"));
  var links = document.querySelectorAll("a[data-preview-link]");
  var timer = null;
  var shown = "";

  function previewQuery() {
    var params = new URLSearchParams();
    params.set("business_name", form.elements.business_name.value);
    ["brand_color", "accent_color"].forEach(function (name) {
      var color = normalHex(form.elements[name].value);
      if (color) { params.set(name, color); }
    });
    ["font", "corner_shape"].forEach(function (name) {
      var checked = form.querySelector("input[name=" + name + "]:checked");
      if (checked) { params.set(name, checked.value); }
    });
    ["icon", "logo"].forEach(function (name) {
      var pending = form.elements["pending_" + name];
      var remove = form.elements["remove_" + name];
      if (pending && pending.value) {
        params.set(name, pending.value);
      } else if (remove && remove.checked) {
        params.set(name, "none");
      }
    });
    return params.toString();
  }

  function base(url) { return url.split("?")[0]; }

  function redraw() {
    var query = previewQuery();
    if (query === shown) { return; }
    shown = query;
    frames = frames.map(function (frame) {
      // The new page is drawn in a second frame that replaces the first once loaded: no blank flash.
      var next = frame.cloneNode(false);
      next.classList.add("loading");
      next.src = base(frame.src) + "?" + query;
      next.addEventListener("load", function () {
        next.classList.remove("loading");
        // Every frame before it is older (or still loading an older preview): drop them.
        while (next.previousElementSibling) { next.previousElementSibling.remove(); }
      }, { once: true });
      frame.after(next);
      return next;
    });
    links.forEach(function (link) { link.href = base(link.href) + "?" + query; });
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(redraw, 250);
  }
  shown = previewQuery();

  // --- colors: the picker and the hex code stay in step ------------------------------------------
  form.querySelectorAll("input[type=color][data-color-for]").forEach(function (picker) {
    var text = document.getElementById(picker.getAttribute("data-color-for"));
    var field = text.closest(".field");
    picker.hidden = false;
    picker.addEventListener("input", function () {
      text.value = picker.value.toLowerCase();
      text.removeAttribute("aria-invalid");
      clearErrors(field);
      schedule();
    });
    text.addEventListener("input", function () {
      var color = normalHex(text.value);
      if (color) {
        picker.value = color;
        text.removeAttribute("aria-invalid");
        clearErrors(field);
      }
      schedule();
    });
    text.addEventListener("change", function () {
      var color = normalHex(text.value);
      if (color) { return; }
      text.setAttribute("aria-invalid", "true");
      showError(field, text.closest(".color-input").nextElementSibling, text.id + "_error",
        "“" + text.value.trim() + "” is not a color. Enter a hex code such as #3d4eac (# and 6 or 3 digits from 0-9 and a-f).");
    });
  });

  form.addEventListener("input", function (event) {
    if (event.target.name === "business_name") { schedule(); }
  });
  form.addEventListener("change", function (event) {
    var name = event.target.name || "";
    if (name === "font" || name === "corner_shape" || name.indexOf("remove_") === 0) { schedule(); }
  });

  // --- images: stored as soon as they are chosen, so the previews can show them ------------------
  var token = form.elements.csrfmiddlewaretoken.value;
  form.querySelectorAll("[data-image]").forEach(function (field) {
    var name = field.getAttribute("data-image");
    var input = field.querySelector("input[type=file]");
    var pending = form.elements["pending_" + name];
    var note = document.getElementById("pending_" + name + "_note");
    var box = field.querySelector(".image-preview");
    var removal = field.querySelector(".remove-image");
    var kept = Array.prototype.map.call(box.childNodes, function (node) { return node.cloneNode(true); });

    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      if (!file) { return; }
      var body = new FormData();
      body.append(name, file);
      var before = { text: note.textContent, hidden: note.hidden };
      note.hidden = false;
      note.textContent = "Uploading " + file.name + "…";
      fetch(field.getAttribute("data-upload-url"), {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": token, "Accept": "application/json" }
      })
        .then(function (response) {
          return response.json().catch(function () { return {}; }).then(function (data) {
            return { ok: response.ok, data: data };
          });
        })
        .then(function (answer) {
          if (!answer.ok || !answer.data.id) {
            throw new Error(answer.data.error || "The image could not be uploaded. Try again.");
          }
          var data = answer.data;
          clearErrors(field);
          pending.value = data.id;
          // Sent already: the form need not send the file again.
          input.value = "";
          note.textContent = data.filename + " is uploaded and will be used when you save. Choose another file only to replace it.";
          var img = document.createElement("img");
          img.src = data.url;
          img.alt = "The " + name + " you uploaded";
          box.replaceChildren(img);
          kept = [img.cloneNode(true)];
          if (removal) {
            removal.hidden = true;
            removal.querySelector("input").checked = false;
          }
          schedule();
        })
        .catch(function (error) {
          input.value = "";
          box.replaceChildren.apply(box, kept.map(function (node) { return node.cloneNode(true); }));
          note.textContent = before.text;
          note.hidden = before.hidden;
          showError(field, field.querySelector(".help"), input.id + "_error", error.message);
        });
    });
  });
})();
