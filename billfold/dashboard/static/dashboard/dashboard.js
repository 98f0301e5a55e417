/* Billfold dashboard: small enhancements only; every page works without this file. */
(function () {
  "use strict";

  // The navigation collapses behind a menu button on narrow screens (without JavaScript it stays open).
  var toggle = document.querySelector(".nav-toggle");
  var sidebar = document.getElementById("sidebar");
  if (toggle && sidebar) {
    document.documentElement.classList.add("js");
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") === "true";
      toggle.setAttribute("aria-expanded", open ? "false" : "true");
      sidebar.classList.toggle("open", !open);
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && sidebar.classList.contains("open")) {
        toggle.setAttribute("aria-expanded", "false");
        sidebar.classList.remove("open");
        toggle.focus();
      }
    });
  }

  // Copy buttons: <button data-copy="ID"> copies the value (or text) of the element with that id and
  // says so in its own label for a moment; without JavaScript they stay hidden and the text is selectable.
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) { return; }
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = "value" in source ? source.value : source.textContent;
      function copied() {
        button.textContent = "Copied";
        button.classList.add("copied");
        window.setTimeout(function () { button.textContent = label; button.classList.remove("copied"); }, 2000);
      }
      navigator.clipboard.writeText(text.trim()).then(copied, function () {
        // Refused (the page lost focus, say): copy the selected field the older way.
        if (source.select) {
          source.select();
          if (document.execCommand && document.execCommand("copy")) { copied(); }
        }
      });
    });
  });

  // A chosen image is previewed before the form is sent; the server checks the file again.
  document.querySelectorAll("input[type=file][accept]").forEach(function (input) {
    var preview = document.querySelector('[data-preview-for="' + input.id + '"]');
    if (!preview) { return; }
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      if (!file || !/^image\/(png|jpeg)$/.test(file.type)) { return; }
      var img = document.createElement("img");
      img.alt = "Preview of " + file.name;
      img.src = URL.createObjectURL(file);
      preview.replaceChildren(img);
    });
  });

  // Recurring-only fields are hidden for one-time prices, and tiers only for tiered pricing.
  function syncPriceFields(form) {
    var type = form.querySelector("input[name$=type]:checked");
    var pricing = form.querySelector("select[name$=pricing]");
    form.querySelectorAll(".recurring-only").forEach(function (el) {
      el.hidden = !!type && type.value !== "recurring";
    });
    if (pricing) {
      var tiered = pricing.value !== "standard";
      form.querySelectorAll(".tiers").forEach(function (el) { el.hidden = !tiered; });
      form.querySelectorAll(".standard-only").forEach(function (el) { el.hidden = tiered; });
    }
  }
  document.querySelectorAll("form").forEach(function (form) {
    if (!form.querySelector("select[name$=pricing]")) { return; }
    syncPriceFields(form);
    form.addEventListener("change", function () { syncPriceFields(form); });
  });

  // Tax code suggestions ranked by the catalog's search (names, ids and descriptions), as the person
  // types; without JavaScript the field's plain list of every code still works.
  document.querySelectorAll(".suggestions[data-source]").forEach(function (box) {
    var input = document.getElementById(box.getAttribute("data-for"));
    if (!input) { return; }
    // The suggestions replace the browser's own list, so that one list shows, not two.
    input.removeAttribute("list");
    var timer = null;
    var asked = "";
    function show(codes) {
      box.replaceChildren();
      if (!codes.length) { box.hidden = true; return; }
      var heading = document.createElement("p");
      heading.className = "suggestions-title";
      heading.textContent = codes.length === 1 ? "1 matching tax code" : codes.length + " matching tax codes";
      var list = document.createElement("ul");
      codes.forEach(function (code) {
        var item = document.createElement("li");
        var button = document.createElement("button");
        button.type = "button";
        var name = document.createElement("strong");
        name.textContent = code.name;
        var id = document.createElement("span");
        id.className = "mono muted";
        id.textContent = " " + code.id;
        var description = document.createElement("span");
        description.className = "suggestion-description";
        description.textContent = code.description;
        button.append(name, id, description);
        button.addEventListener("click", function () {
          input.value = code.id;
          box.hidden = true;
          input.focus();
        });
        item.append(button);
        list.append(item);
      });
      box.append(heading, list);
      box.hidden = false;
    }
    input.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !box.hidden) { box.hidden = true; event.preventDefault(); }
    });
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var query = input.value.trim();
      if (query.length < 2 || /^txcd_\d{8}$/.test(query)) { box.hidden = true; return; }
      timer = setTimeout(function () {
        asked = query;
        fetch(box.getAttribute("data-source") + "?q=" + encodeURIComponent(query), {
          credentials: "same-origin",
          headers: { "Accept": "application/json" }
        })
          .then(function (response) { return response.ok ? response.json() : { data: [] }; })
          .then(function (body) { if (asked === query) { show(body.data); } })
          .catch(function () { box.hidden = true; });
      }, 150);
    });
  });

  // Webhook endpoint form: search the event types, count the chosen ones, and hide the list while
  // "All events" is chosen. Without JavaScript the whole list shows and every box still works.
  document.querySelectorAll("[data-event-picker]").forEach(function (picker) {
    var types = picker.querySelector("[data-event-types]");
    var searchBox = picker.querySelector("[data-event-search]");
    var search = searchBox && searchBox.querySelector("input");
    var count = picker.querySelector("[data-selected-count]");
    var none = picker.querySelector("[data-event-none]");
    if (!types || !search) { return; }
    searchBox.hidden = false;
    function syncScope() {
      var chosen = picker.querySelector("input[name=scope]:checked");
      types.hidden = !!chosen && chosen.value === "all";
    }
    function syncCount() {
      var checked = types.querySelectorAll("input[type=checkbox]:checked").length;
      if (count) { count.textContent = checked + " selected"; }
    }
    function filter() {
      var words = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      picker.querySelectorAll("[data-event-group]").forEach(function (group) {
        var visible = 0;
        group.querySelectorAll("[data-event-type]").forEach(function (item) {
          var name = item.getAttribute("data-event-type");
          var match = words.every(function (word) { return name.indexOf(word) !== -1; });
          item.hidden = !match;
          if (match) { visible += 1; }
        });
        group.hidden = visible === 0;
        shown += visible;
      });
      if (none) { none.hidden = shown !== 0; }
    }
    search.addEventListener("input", filter);
    // Enter in the search box filters; it must not send the form.
    search.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); }
    });
    picker.addEventListener("change", function () { syncScope(); syncCount(); });
    syncScope();
    syncCount();
  });

  // Selects marked auto-submit send their form when changed (a button stays for keyboards without JS).
  document.querySelectorAll("select.auto-submit").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
