package sim

// Fixed material the generator draws from. Texts use {name}, {order}, {hour} and {price}
// placeholders.

// Words and texts planted in every generated history so that search and escaping can be
// checked against known content.
const (
	// RareWord is in exactly one text message of every history that has at least one.
	RareWord = "jabuticaba"
	// CommonPhrase appears in many messages of Portuguese threads.
	CommonPhrase = "entrega amanhã"
	// HTMLText is the body of one text message of every history with at least three.
	HTMLText = `<b>Promoção</b> de pão de queijo: leve 3 & pague 2 ☕`
	// ScriptText is the body of one text message of every history with at least three.
	ScriptText = `Olha isso <script>alert("oi")</script> kkk`
	// rareText carries RareWord.
	rareText = "Vocês têm geleia de " + RareWord + "? 🍇 Queria levar duas"
)

type textSet struct {
	inbound, outbound []string
}

func portugueseTexts() textSet {
	return textSet{
		inbound: []string{
			"Oi! Vocês ainda têm o bolo de cenoura para sábado?",
			"Bom dia! Qual o horário de funcionamento hoje?",
			"Boa tarde! Gostaria de fazer um orçamento para 50 salgadinhos 🎉",
			"A " + CommonPhrase + " é até que horas?",
			"Consegue entregar no Itaim Bibi?",
			"Quanto fica o pão de queijo congelado? 🧀",
			"Pode ser no Pix?",
			"Recebi o pedido #{order}, obrigado! 😍",
			"O motoboy já saiu?",
			"Tem opção sem glúten?",
			"Vou querer 2 coxinhas e 1 guaraná",
			"Pode separar pra mim? Passo aí às {hour}h",
			"Ainda dá tempo de alterar o pedido #{order}?",
			"Ficou ótimo, parabéns pelo capricho 👏👏",
			"Vocês abrem no feriado?",
			"Me manda o cardápio atualizado, por favor",
			"ok",
			"👍",
			"Obrigada!! 🙏",
			"Cheguei, estou na porta",
			"Confirmo a " + CommonPhrase + " então, às {hour}h",
			"Vocês fazem encomenda de brigadeiro para aniversário? 🎂",
		},
		outbound: []string{
			"Olá, {name}! Temos sim. Separo um para você?",
			"Bom dia! Hoje abrimos das 8h às 18h ☀️",
			"Seu pedido #{order} foi confirmado ✅",
			"A " + CommonPhrase + " sai às {hour}h, tudo bem?",
			"O total ficou R$ {price}. Aceitamos Pix, cartão e dinheiro.",
			"Saiu para entrega! 🛵",
			"Obrigado pela preferência, {name}! 😊",
			"Infelizmente acabou o bolo de cenoura hoje 😕 Amanhã tem de novo.",
			"Segue o cardápio atualizado 📄",
			"Pode passar a partir das {hour}h",
			"Temos opção sem glúten e sem lactose, sim!",
			"Nós que agradecemos. Pedido #{order} confirmado.",
			"Orçamento enviado: 50 salgadinhos por R$ {price} 🥟",
		},
	}
}

func englishTexts() textSet {
	return textSet{
		inbound: []string{
			"Hi! Do you still have the carrot cake for Saturday?",
			"Can you deliver to Copacabana tomorrow?",
			"What time do you open on Sunday?",
			"Thanks a lot, order #{order} arrived perfectly 🙌",
			"Is there a gluten-free option?",
			"How much for a dozen cheese breads?",
			"Running 10 minutes late, sorry!",
			"Can I pay by card on delivery?",
			"Great, see you at {hour} 👋",
		},
		outbound: []string{
			"Hello {name}! Yes, we do. Shall I save one for you?",
			"Your order #{order} is confirmed ✅",
			"Delivery tomorrow from {hour}:00, is that OK?",
			"The total is R$ {price}. We accept card and Pix.",
			"On its way! 🚚",
			"Thank you, {name}! See you soon 😊",
			"Sorry, we are closed on public holidays.",
		},
	}
}

func reactionEmojis() []string {
	return []string{"\u2764\ufe0f", "👍", "😂", "🙏", "😮", "🎉"}
}

type place struct {
	lat, lng      float64
	name, address string
}

func places() []place {
	return []place{
		{-23.561684, -46.655981, "Doces da Vila", "Av. Paulista, 1000 - Bela Vista, São Paulo"},
		{-22.971177, -43.182543, "Padaria Copacabana", "R. Barata Ribeiro, 502 - Copacabana, Rio de Janeiro"},
		{-19.932238, -43.938118, "Mercado Central", "Av. Augusto de Lima, 744 - Centro, Belo Horizonte"},
		{-25.428954, -49.267137, "", ""},
		{-8.063169, -34.871139, "Marco Zero", "Praça Rio Branco - Recife Antigo, Recife"},
		{38.697559, -9.203183, "Pastéis de Belém", "R. de Belém 84-92, Lisboa"},
	}
}

func imageCaptions() []string {
	return []string{"foto do pedido", "Olha como ficou 😍", "comprovante do Pix", "", "here is the receipt", "bolo de cenoura 🥕"}
}

func documentNames() []string {
	return []string{"cardapio-2026.pdf", "nota-fiscal-{order}.pdf", "orçamento-festa.pdf", "invoice-{order}.pdf"}
}

type nameSet struct {
	first, last []string
}

func brazilianNames() nameSet {
	return nameSet{
		first: []string{"Mariana", "João", "Ana", "Pedro", "Beatriz", "Lucas", "Júlia", "Gabriel", "Letícia", "Rafael",
			"Camila", "Thiago", "Fernanda", "Matheus", "Larissa", "Felipe", "Conceição", "Sebastião", "Luíza", "André",
			"Vitória", "Caio", "Bruna", "Otávio", "Aline", "Renato", "Patrícia", "Marcos", "Débora", "Rogério"},
		last: []string{"Silva", "Santos", "Oliveira", "Souza", "Costa", "Ribeiro", "Almeida", "Pereira", "Carvalho", "Gomes",
			"Martins", "Araújo", "Barbosa", "Rocha", "Lima", "Nascimento", "Moreira", "Cardoso", "Teixeira", "Gonçalves"},
	}
}

func foreignNames() nameSet {
	return nameSet{
		first: []string{"Emma", "Liam", "Olivia", "Noah", "Sophie", "James", "Chloé", "Oliver", "Zoë", "Jack", "Inês", "Tomás"},
		last:  []string{"Smith", "Johnson", "Brown", "Taylor", "Wilson", "Müller", "García", "O'Brien", "Nguyen", "Rossi", "Ferreira"},
	}
}

func nameSuffixes() []string {
	return []string{" (fornecedor)", " - Buffet", " 🎂", " Cliente VIP", " (vizinha)"}
}
