/* Live checklist of the password rules on the account creation form (the
 * server applies the full policy, blocklist included). */
(function () {
  'use strict';

  var input = document.getElementById('password');
  var list = document.getElementById('password-checklist');
  if (!input || !list) {
    return;
  }
  var rules = {
    length: function (p) { return p.length >= 8; },
    'case': function (p) { return p.toLowerCase() !== p && p.toUpperCase() !== p; },
    digit: function (p) { return /[0-9]/.test(p); },
    special: function (p) { return /[^\p{L}\p{N}]/u.test(p); }
  };

  function update() {
    var items = list.querySelectorAll('[data-rule]');
    for (var i = 0; i < items.length; i++) {
      var ok = rules[items[i].getAttribute('data-rule')](input.value);
      items[i].classList.toggle('checklist__item--ok', ok);
    }
  }

  input.addEventListener('input', update);
  update();
})();
