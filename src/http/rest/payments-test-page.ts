/**
 * The test provider's checkout page: what a hosted checkout is to a real provider. The customer
 * picks pay, fail or cancel; the page posts the choice, the provider signs it and delivers it to
 * the webhook, and the page shows the checkout's new state.
 */
export function testCheckoutPage(checkoutId: string): string {
  // The id goes into the page as JSON inside a script, with `<` escaped: nothing it holds can
  // close the script element or become markup.
  const id = JSON.stringify(checkoutId).replace(/</g, '\\u003c')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Test checkout · Engine Room</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem; color: #1b1f24; }
  .note { background: #fff4d6; border: 1px solid #e8c96a; padding: .5rem .75rem; border-radius: 6px; }
  button { font: inherit; padding: .5rem 1rem; margin: .25rem .5rem .25rem 0; border-radius: 6px; border: 1px solid #888; cursor: pointer; }
  #pay { background: #1f883d; color: white; border-color: #1f883d; }
  output { display: block; margin-top: 1rem; font-weight: 600; }
</style>
</head>
<body>
<h1>Test checkout</h1>
<p class="note">This is Engine Room's <strong>test</strong> payment provider: no money moves.
Choose what the customer does; the result reaches the server as a signed webhook, as a real
provider's would.</p>
<p>Checkout <code id="checkout"></code></p>
<button id="pay" data-outcome="paid">Pay</button>
<button id="fail" data-outcome="failed">Fail the payment</button>
<button id="cancel" data-outcome="canceled">Cancel</button>
<output id="result" aria-live="polite"></output>
<script>
  const id = ${id}
  document.getElementById('checkout').textContent = id
  for (const button of document.querySelectorAll('button')) {
    button.addEventListener('click', async () => {
      const out = document.getElementById('result')
      out.textContent = 'Sending…'
      const res = await fetch('/api/payments/test/' + encodeURIComponent(id) + '/complete', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ outcome: button.dataset.outcome }),
      })
      const body = await res.json()
      out.textContent = res.ok ? 'Checkout ' + body.checkout.status : (body.detail || 'Failed')
      out.dataset.status = res.ok ? body.checkout.status : 'error'
    })
  }
</script>
</body>
</html>
`
}
