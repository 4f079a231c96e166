/* OpenID Connect Form Post Response Mode: submit the response form to the
 * client's redirect_uri as soon as the page is parsed. Without JavaScript the
 * visible "Continuer" button does the same. */
(function () {
  'use strict';

  var submitted = false;

  function submitForm() {
    var form = document.getElementById('form-post');
    if (!form || submitted) {
      return;
    }
    submitted = true;
    form.submit();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', submitForm);
  } else {
    submitForm();
  }
})();
