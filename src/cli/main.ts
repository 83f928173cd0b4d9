#!/usr/bin/env node
import { main } from './commands';

void main();
