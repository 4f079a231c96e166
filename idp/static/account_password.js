/* Live checklist of the password rules under every new-password field of the account pages
 * (lists marked data-checklist-for="<input id>"). The server applies the full policy. */
(function () {
  'use strict';

  var rules = {
    length: function (p) { return p.length >= 8; },
    'case': function (p) { return p.toLowerCase() !== p && p.toUpperCase() !== p; },
    digit: function (p) { return /[0-9]/.test(p); },
    special: function (p) { return /[^\p{L}\p{N}]/u.test(p); }
  };

  function watch(list) {
    var input = document.getElementById(list.getAttribute('data-checklist-for'));
    if (!input) {
      return;
    }
    var items = list.querySelectorAll('[data-rule]');
    function update() {
      for (var i = 0; i < items.length; i++) {
        var ok = rules[items[i].getAttribute('data-rule')](input.value);
        items[i].classList.toggle('checklist__item--ok', ok);
      }
    }
    input.addEventListener('input', update);
    update();
  }

  var lists = document.querySelectorAll('[data-checklist-for]');
  for (var i = 0; i < lists.length; i++) {
    watch(lists[i]);
  }
})();
