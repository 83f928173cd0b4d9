/**
 * The one place that loads `@peculiar/x509`: it needs a Reflect metadata
 * polyfill (its dependency injection) before it is first required, and uses
 * Node's WebCrypto as its crypto provider. Every other file of src/security
 * imports the library from here.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

export { x509 };
export const subtle = webcrypto.subtle;
