/* CPS card login: ask the IdP for a challenge, have the local card agent sign it
 * with the card (the PIN goes to the agent only), then post the certificate and
 * the signature to the IdP. Protocol of the agent: docs/card-agent.md. */
(function () {
  'use strict';

  var root = document.getElementById('card-login');
  if (!root) {
    return;
  }
  var agentUrl = root.getAttribute('data-agent-url');
  var challengeUrl = root.getAttribute('data-challenge-url');
  var pinForm = document.getElementById('pin-form');
  var pinInput = document.getElementById('pin');
  var submit = document.getElementById('pin-submit');
  var proof = document.getElementById('card-proof');
  var status = document.getElementById('card-status');
  var message = document.getElementById('card-message');
  var messageText = document.getElementById('card-message-text');
  var missing = document.getElementById('agent-missing');

  function say(text) {
    messageText.textContent = text;
    message.hidden = false;
  }

  function agentMissing() {
    status.textContent = '';
    missing.hidden = false;
    pinForm.hidden = true;
  }

  function agent(path, options) {
    return fetch(agentUrl + path, Object.assign({ mode: 'cors', credentials: 'omit',
      cache: 'no-store' }, options || {}))
      .then(function (response) {
        return response.json().then(function (body) {
          return { ok: response.ok, body: body };
        });
      })
      .catch(function () {
        return null; // not running, not allowed for this site, or not an agent answer
      });
  }

  function showStatus() {
    agent('/status').then(function (answer) {
      if (answer === null) {
        agentMissing();
      } else if (!answer.ok) {
        status.textContent = '';
        say(answer.body.message);
      } else if (answer.body.card_present) {
        status.textContent = 'Carte CPS détectée' +
          (answer.body.holder ? ' : ' + answer.body.holder : '') + '.';
      } else {
        status.textContent = 'Insérez votre carte CPS dans le lecteur.';
      }
    });
  }

  function newChallenge() {
    var body = new URLSearchParams();
    body.set('csrf_token', proof.elements.csrf_token.value);
    return fetch(challengeUrl, { method: 'POST', body: body, credentials: 'same-origin' })
      .then(function (response) {
        if (!response.ok) {
          throw new Error('challenge');
        }
        return response.json();
      });
  }

  pinForm.addEventListener('submit', function (event) {
    event.preventDefault();
    var pin = pinInput.value;
    if (!/^[0-9]{4,8}$/.test(pin)) {
      say('Le code PIN de votre carte comporte 4 à 8 chiffres.');
      pinInput.focus();
      return;
    }
    submit.disabled = true;
    message.hidden = true;
    newChallenge().then(function (issued) {
      return agent('/sign', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ challenge: issued.challenge, pin: pin })
      }).then(function (answer) {
        pinInput.value = '';
        pin = '';
        if (answer === null) {
          agentMissing();
        } else if (!answer.ok) {
          say(answer.body.message);
        } else {
          proof.elements.certificate.value = answer.body.certificate;
          proof.elements.signature.value = answer.body.signature;
          proof.elements.challenge.value = issued.challenge;
          proof.submit();
          return;
        }
        submit.disabled = false;
      });
    }).catch(function () {
      pinInput.value = '';
      say('La connexion par carte a échoué. Rechargez la page et recommencez.');
      submit.disabled = false;
    });
  });

  showStatus();
})();
