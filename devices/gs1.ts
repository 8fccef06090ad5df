/** GS1 identifiers. The full element-string parser comes with scanning; this is the SSCC check. */

/** GS1 mod-10 check digit over the digits before it (weights 3,1,3,… from the right). */
export function gs1CheckDigit(body: string): number {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    const digit = body.charCodeAt(body.length - 1 - i) - 48;
    sum += digit * (i % 2 === 0 ? 3 : 1);
  }
  return (10 - (sum % 10)) % 10;
}

/** An SSCC is 18 digits, the last one the GS1 check digit. */
export function isValidSscc(s: string): boolean {
  return /^[0-9]{18}$/.test(s) && gs1CheckDigit(s.slice(0, 17)) === Number(s[17]);
}
