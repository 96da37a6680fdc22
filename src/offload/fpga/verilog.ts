import { SpikedriveError } from '../../util/errors.ts';
import type { FixedPopulation } from './model.ts';

/**
 * Synthesisable Verilog (2005) for one spiking convolution layer of a fixed-point model: binary input spikes,
 * integer weights in a ROM (`$readmemh`), integer bias/threshold/reset per output channel, and the integer LIF of
 * `FixedPopulation` (shift leak, saturation to the state width, ≥ or > firing, hard reset). One synaptic add per
 * clock: a small, honest reference core (not a fast one), checked bit for bit against `runFixedModel` with Icarus
 * Verilog (`test/unit/offload/fpga.test.ts`).
 *
 * Interface: write one step's input spikes through (in_we, in_addr, in_bit) in C·H·W order, pulse `start`, wait for
 * `done`, read each neuron's spike and charged membrane through (out_addr → out_bit, out_v) in C·OH·OW order. `rst`
 * clears the membranes to V_reset (it takes one cycle per neuron; `busy` is high meanwhile).
 */

export interface VerilogLayer {
  /** Module name. */
  name: string;
  verilog: string;
  testbench: string;
  /** `$readmemh` files: weights, bias, threshold, reset (two's complement hex). */
  memories: Record<string, string>;
  geometry: {
    cin: number;
    h: number;
    w: number;
    cout: number;
    oh: number;
    ow: number;
    kh: number;
    kw: number;
    stride: number;
    pad: number;
  };
}

function hex(v: number, bits: number): string {
  const mod = 2 ** bits;
  return (((v % mod) + mod) % mod).toString(16).padStart(Math.ceil(bits / 4), '0');
}

function clog2(n: number): number {
  return Math.max(1, Math.ceil(Math.log2(Math.max(n, 2))));
}

/** Emits the core, its memories and a testbench for one conv → LIF population. */
export function emitSpikingConvVerilog(pop: FixedPopulation, moduleName = 'snn_conv_layer'): VerilogLayer {
  const fail = (why: string) =>
    new SpikedriveError(`Cannot emit Verilog for ${pop.name}: ${why}`, {
      subject: pop.name,
      fix: 'Pick a layer whose only input is one spiking Conv2d (e.g. a LIF after a conv in an MS block), with LIF/IF neurons.',
    });
  if (pop.projections.length !== 1)
    throw fail(`it has ${pop.projections.length} inputs (one conv projection needed)`);
  const p = pop.projections[0];
  if (p.conv === null || p.weights === null) throw fail('its input is not a convolution');
  if (!p.sourceSpiking) throw fail('its input is real-valued (binary spikes needed)');
  if (p.path.length > 0) throw fail('pooling/flatten sits between source and conv');
  if (pop.type !== 'LIF' && pop.type !== 'IF') throw fail(`${pop.type} populations are not supported`);
  if (pop.leak.kind === 'multiply') throw fail('τ is not a power of two (multiplier leak)');
  if (pop.reset !== 'hard') throw fail('soft reset');
  const c = p.conv;
  if (
    c.stride[0] !== c.stride[1] ||
    c.padding[0] !== c.padding[1] ||
    c.dilation[0] !== 1 ||
    c.dilation[1] !== 1
  )
    throw fail('non-square stride/padding or dilation');
  const g = {
    cin: c.inChannels,
    h: c.inputSize[0],
    w: c.inputSize[1],
    cout: c.outChannels,
    oh: c.outputSize[0],
    ow: c.outputSize[1],
    kh: c.kernel[0],
    kw: c.kernel[1],
    stride: c.stride[0],
    pad: c.padding[0],
  };
  const sb = pop.stateBits;
  const shift = pop.leak.kind === 'shift' ? pop.leak.shift : 0;
  const leak = pop.leak.kind === 'shift' ? 1 : 0;
  const nIn = g.cin * g.h * g.w;
  const nOut = g.cout * g.oh * g.ow;
  const nW = p.weights.length;
  const memories = {
    'weights.hex': `${Array.from(p.weights, (v) => hex(v, 8)).join('\n')}\n`,
    'bias.hex': `${Array.from(pop.bias, (v) => hex(v, 32)).join('\n')}\n`,
    'threshold.hex': `${Array.from(pop.threshold, (v) => hex(v, 32)).join('\n')}\n`,
    'vreset.hex': `${Array.from(pop.vReset, (v) => hex(v, 32)).join('\n')}\n`,
  };
  const verilog = `// ${moduleName}: spiking conv ${g.cin}×${g.h}×${g.w} → ${g.cout}×${g.oh}×${g.ow}, kernel ${g.kh}×${g.kw}, stride ${g.stride}, padding ${g.pad}
// Emitted by spikedrive from ${pop.name}. Integer LIF: H = V + ((X − V + Vr) >>> ${shift}) (or V + X for IF), X = sat(Σ w·s + b),
// fire when H ${pop.firing === 'geq' ? '>=' : '>'} θ, reset to Vr; state ${sb} bits, saturating.
\`timescale 1ns / 1ps
module ${moduleName} #(
  parameter CIN = ${g.cin}, H = ${g.h}, W = ${g.w}, COUT = ${g.cout}, OH = ${g.oh}, OW = ${g.ow},
  parameter KH = ${g.kh}, KW = ${g.kw}, STRIDE = ${g.stride}, PAD = ${g.pad},
  parameter SBITS = ${sb}, SHIFT = ${shift}, LEAK = ${leak}, GEQ = ${pop.firing === 'geq' ? 1 : 0},
  parameter IN_AW = ${clog2(nIn)}, OUT_AW = ${clog2(nOut)}, W_AW = ${clog2(nW)}
) (
  input  wire clk,
  input  wire rst,
  input  wire in_we,
  input  wire [IN_AW-1:0] in_addr,
  input  wire in_bit,
  input  wire start,
  output reg  busy,
  output reg  done,
  input  wire [OUT_AW-1:0] out_addr,
  output wire out_bit,
  output wire signed [SBITS-1:0] out_v
);
  localparam signed [47:0] SMAX = (48'sd1 <<< (SBITS - 1)) - 48'sd1;
  localparam signed [47:0] SMIN = -(48'sd1 <<< (SBITS - 1));

  reg in_mem [0:${nIn - 1}];
  reg out_mem [0:${nOut - 1}];
  reg signed [SBITS-1:0] v_mem [0:${nOut - 1}];
  reg signed [SBITS-1:0] h_mem [0:${nOut - 1}];
  reg signed [7:0] w_rom [0:${nW - 1}];
  reg signed [31:0] bias_rom [0:${g.cout - 1}];
  reg signed [31:0] th_rom [0:${g.cout - 1}];
  reg signed [31:0] vr_rom [0:${g.cout - 1}];
  initial begin
    $readmemh("weights.hex", w_rom);
    $readmemh("bias.hex", bias_rom);
    $readmemh("threshold.hex", th_rom);
    $readmemh("vreset.hex", vr_rom);
  end

  assign out_bit = out_mem[out_addr];
  assign out_v = h_mem[out_addr];

  function signed [SBITS-1:0] sat;
    input signed [47:0] x;
    begin
      if (x > SMAX) sat = SMAX[SBITS-1:0];
      else if (x < SMIN) sat = SMIN[SBITS-1:0];
      else sat = x[SBITS-1:0];
    end
  endfunction

  localparam S_IDLE = 2'd0, S_CLEAR = 2'd1, S_ACC = 2'd2, S_FIRE = 2'd3;
  reg [1:0] state;
  reg [15:0] oc, oy, ox, ic, ky, kx;
  reg [OUT_AW:0] clear_i;
  reg signed [31:0] acc;
  integer iy, ix;
  reg signed [47:0] x_sum, d, h_full;
  reg signed [SBITS-1:0] x_sat, v_old, h_sat;
  reg fire;

  wire [OUT_AW-1:0] o_idx = (oc * OH + oy) * OW + ox;
  wire [W_AW-1:0] w_idx = ((oc * CIN + ic) * KH + ky) * KW + kx;

  always @(posedge clk) begin
    if (in_we) in_mem[in_addr] <= in_bit;
    if (rst) begin
      state <= S_CLEAR;
      clear_i <= 0;
      busy <= 1'b1;
      done <= 1'b0;
    end else begin
      case (state)
        S_CLEAR: begin
          v_mem[clear_i[OUT_AW-1:0]] <= vr_rom[clear_i / (OH * OW)][SBITS-1:0];
          if (clear_i == ${nOut - 1}) begin
            state <= S_IDLE;
            busy <= 1'b0;
          end
          clear_i <= clear_i + 1;
        end
        S_IDLE: begin
          done <= 1'b0;
          if (start) begin
            busy <= 1'b1;
            oc <= 0; oy <= 0; ox <= 0; ic <= 0; ky <= 0; kx <= 0;
            acc <= 0;
            state <= S_ACC;
          end
        end
        S_ACC: begin
          iy = oy * STRIDE - PAD + ky;
          ix = ox * STRIDE - PAD + kx;
          if (iy >= 0 && iy < H && ix >= 0 && ix < W && in_mem[(ic * H + iy) * W + ix])
            acc <= acc + w_rom[w_idx];
          if (kx == KW - 1) begin
            kx <= 0;
            if (ky == KH - 1) begin
              ky <= 0;
              if (ic == CIN - 1) begin
                ic <= 0;
                state <= S_FIRE;
              end else ic <= ic + 1;
            end else ky <= ky + 1;
          end else kx <= kx + 1;
        end
        S_FIRE: begin
          x_sum = acc + bias_rom[oc];
          x_sat = sat(x_sum);
          v_old = v_mem[o_idx];
          if (LEAK) begin
            d = x_sat - v_old + vr_rom[oc];
            h_full = v_old + (d >>> SHIFT);
          end else begin
            h_full = v_old + x_sat;
          end
          h_sat = sat(h_full);
          fire = GEQ ? (h_sat >= th_rom[oc]) : (h_sat > th_rom[oc]);
          h_mem[o_idx] <= h_sat;
          out_mem[o_idx] <= fire;
          v_mem[o_idx] <= fire ? vr_rom[oc][SBITS-1:0] : h_sat;
          acc <= 0;
          state <= S_ACC;
          if (ox == OW - 1) begin
            ox <= 0;
            if (oy == OH - 1) begin
              oy <= 0;
              if (oc == COUT - 1) begin
                oc <= 0;
                state <= S_IDLE;
                busy <= 1'b0;
                done <= 1'b1;
              end else oc <= oc + 1;
            end else oy <= oy + 1;
          end else ox <= ox + 1;
        end
      endcase
    end
  end
endmodule
`;
  const testbench = `\`timescale 1ns / 1ps
// Testbench: reads STEPS steps of input spikes from input.bin.txt (one bit per line, C·H·W per step), runs the layer
// step by step and writes "spike membrane" per neuron and step to output.txt.
module tb;
  parameter STEPS = 1;
  localparam NIN = ${nIn}, NOUT = ${nOut};
  reg clk = 0, rst = 1, in_we = 0, in_bit = 0, start = 0;
  reg [${clog2(nIn) - 1}:0] in_addr = 0;
  reg [${clog2(nOut) - 1}:0] out_addr = 0;
  wire busy, done, out_bit;
  wire signed [${sb - 1}:0] out_v;
  reg stim [0:NIN*STEPS-1];
  integer t, i, f;
  ${moduleName} dut (.clk(clk), .rst(rst), .in_we(in_we), .in_addr(in_addr), .in_bit(in_bit), .start(start),
    .busy(busy), .done(done), .out_addr(out_addr), .out_bit(out_bit), .out_v(out_v));
  always #5 clk = ~clk;
  // Stimulus changes on the falling edge, so the design samples it cleanly on the next rising edge.
  initial begin
    $readmemb("input.bin.txt", stim);
    f = $fopen("output.txt", "w");
    @(negedge clk); @(negedge clk); rst = 0;
    @(negedge clk);
    while (busy) @(negedge clk);
    for (t = 0; t < STEPS; t = t + 1) begin
      for (i = 0; i < NIN; i = i + 1) begin
        in_we = 1; in_addr = i; in_bit = stim[t * NIN + i];
        @(negedge clk);
      end
      in_we = 0;
      start = 1; @(negedge clk); start = 0;
      while (!done) @(negedge clk);
      for (i = 0; i < NOUT; i = i + 1) begin
        out_addr = i; #1;
        $fwrite(f, "%0d %0d\\n", out_bit, out_v);
      end
    end
    $fclose(f);
    $finish;
  end
endmodule
`;
  return { name: moduleName, verilog, testbench, memories, geometry: g };
}
